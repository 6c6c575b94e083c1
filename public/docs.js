// Starts the Scalar API reference (loaded just before from /docs/scalar.js) on our OpenAPI document.
window.Scalar.createApiReference('#app', { url: '/docs/openapi.json', hideClientButton: true, withDefaultFonts: false });

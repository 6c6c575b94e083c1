/** The product's one stylesheet, served at /app.css (no inline styles: the CSP allows only 'self'). */
export const CSS = `
*,*::before,*::after{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",sans-serif;line-height:1.5;
  color:#1b2330;background:#f5f7fa}
body{margin:0}
a{color:#1d4ed8}
a:focus-visible,button:focus-visible,select:focus-visible,input:focus-visible,summary:focus-visible{
  outline:3px solid #f59e0b;outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5rem 1rem}
.skip:focus{left:.5rem;z-index:1}
header.top{background:#111827;color:#f9fafb;padding:.75rem 1rem}
header.top a{color:#f9fafb}
.bar{display:flex;justify-content:space-between;align-items:center;gap:1rem;max-width:72rem;margin:0 auto}
.brand{font-weight:700;font-size:1.25rem;text-decoration:none}
nav{max-width:72rem;margin:.5rem auto 0}
nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:.25rem 1rem;margin:0;padding:0}
nav a{display:inline-block;padding:.35rem 0;text-decoration:none;border-bottom:3px solid transparent}
nav a[aria-current=page]{border-bottom-color:#60a5fa;font-weight:600}
.who{max-width:72rem;margin:.5rem auto 0;display:flex;flex-wrap:wrap;align-items:flex-start;gap:.5rem 1.5rem;
  font-size:.9rem;background:#1f2937;border-radius:.5rem;padding:.5rem .75rem}
.who dl{display:flex;flex-wrap:wrap;gap:.25rem 1.5rem;margin:0}
.who dt{font-size:.75rem;text-transform:uppercase;letter-spacing:.04em;color:#cbd5e1}
.who dd{margin:0;overflow-wrap:anywhere}
.who code{font-size:.8rem}
.who details{min-width:10rem}
.perms{list-style:none;padding:0;margin:.25rem 0 0;display:flex;flex-wrap:wrap;gap:.25rem}
.perms code{background:#374151;border-radius:.25rem;padding:0 .3rem}
main{max-width:74rem;margin:0 auto;padding:1rem}
footer{max-width:74rem;margin:2rem auto;padding:0 1rem;color:#4b5563;font-size:.85rem}
.narrow{max-width:40rem}
h1{font-size:1.75rem;margin:.5rem 0 1rem}
h2{font-size:1.1rem;margin:0 0 .5rem}
button,.button{display:inline-block;font:inherit;font-weight:600;padding:.55rem 1rem;border-radius:.4rem;
  border:2px solid #1d4ed8;background:#1d4ed8;color:#fff;text-decoration:none;cursor:pointer}
button.secondary{background:transparent;border-color:#9ca3af;color:inherit}
button.small{padding:.2rem .6rem;font-size:.85rem}
form.inline{margin:0}
form label{display:block;font-weight:600;margin:.75rem 0 .25rem}
form label.check{display:flex;gap:.5rem;align-items:center;font-weight:400}
input[type=checkbox]{width:1.25rem;height:1.25rem;margin:0}
select{font:inherit;padding:.4rem;min-width:12rem;max-width:100%}
form button[type=submit]{margin-top:1rem}
.who form button{margin-top:0}
.bar form button{margin-top:0}
.notice{background:#ecfdf5;border-left:4px solid #059669;padding:.5rem .75rem}
.stats{list-style:none;padding:0;margin:0 0 1rem;display:grid;grid-template-columns:repeat(auto-fit,minmax(10rem,1fr));
  gap:.75rem}
.stats li,.card{background:#fff;border:1px solid #d1d5db;border-radius:.5rem;padding:.75rem 1rem}
.stats .label{display:block;color:#4b5563;font-size:.9rem}
.stats .value{display:block;font-size:1.75rem;font-weight:700}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr));gap:.75rem}
.chart{width:100%;height:auto}
.chart .bar{fill:#3b82f6}
.chart .line{stroke:#059669;stroke-width:3}
.chart .axis{font-size:11px;fill:#374151}
.table{overflow-x:auto}
table{border-collapse:collapse;width:100%;background:#fff}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{border-bottom:1px solid #d1d5db;padding:.5rem;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
`;

/** A blue square with an upward line: the product's icon. */
export const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1d4ed8"/>' +
  '<polyline points="3,12 7,8 9,10 13,4" fill="none" stroke="#fff" stroke-width="2"/></svg>';

/** Cursors PostgreSQL cannot take as a bigint, or JavaScript cannot hold exactly (R5). */
export const OUT_OF_RANGE_CURSORS = [
  'Infinity',
  '-Infinity',
  '9223372036854775807',
  '1e30',
  '0xffffffffffffffff',
  '9'.repeat(96),
  String(Number.MAX_SAFE_INTEGER + 2),
];

/** Blank once trimmed: ASCII and ideographic spaces, the BOM, a zero-width space, NEXT LINE, a mix. */
export const BLANKS = [' ', '\u3000', '\ufeff', '\u200b', '\u0085', ' \t\u00a0\u2028 '];

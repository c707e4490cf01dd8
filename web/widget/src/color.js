// Colours: the tenant's colour is a background (launcher, header, the
// visitor's bubbles); the text on it is black or white, whichever has the
// higher WCAG contrast ratio. One of the two always reaches 4.58:1, so text
// on the tenant colour meets AA for any colour.

export const DEFAULT_COLOR = '#1d4ed8';

function luminance(hex) {
  const n = parseInt(hex.slice(1), 16);
  const ch = (v) => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * ch((n >> 16) & 255) + 0.7152 * ch((n >> 8) & 255) + 0.0722 * ch(n & 255);
}

/** The WCAG 2 contrast ratio of two #rrggbb colours (1 to 21). */
export function contrast(a, b) {
  const x = luminance(a);
  const y = luminance(b);
  return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
}

/** A valid #rrggbb, lower-case, or the default. */
export function normalize(c) {
  return /^#[0-9a-f]{6}$/i.test(c || '') ? c.toLowerCase() : DEFAULT_COLOR;
}

/** Black or white: the text colour with the better contrast on bg. */
export function textOn(bg) {
  return contrast(bg, '#ffffff') >= contrast(bg, '#000000') ? '#ffffff' : '#000000';
}

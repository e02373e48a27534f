/**
 * The key two principal names collide on (issue: `Alice` beside `alice` filled two seats of one
 * plan). Names are compared after Unicode normalisation (NFKC), case folding, and folding the
 * ASCII look-alikes a reviewer list cannot tell apart: 0/o, 1/l/i/|, rn/m, vv/w. Two names with
 * one key cannot both exist in a tenant, so the reviewer list shows each person once.
 */
export function principalNameKey(name: string): string {
  return name.normalize('NFKC').toLowerCase().replace(/0/g, 'o').replace(/[1i|]/g, 'l').replace(/rn/g, 'm').replace(/vv/g, 'w');
}

import type { JWK } from 'jose'

/** The public half of a private JWK: the same members without the private ones (`d`, and RSA's `p`, `q`, `dp`, `dq`, `qi`). */
export function publicJwk ({ d, p, q, dp, dq, qi, ...rest }: JWK): JWK {
  return rest
}

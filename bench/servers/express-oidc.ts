// Row 5: express + express-openid-connect `requiresAuth()`, its defaults (a
// rolling, encrypted `appSession` cookie), the session made by a real login
// through the dev IdP.
import { createServer } from 'node:http'
import express from 'express'
import expressOpenidConnect from 'express-openid-connect'
import { ROUTE, SCOPE } from '../spec.js'
import { HOST, nodeServer, required, type BuildServer } from './common.js'

// CommonJS spreading `requiresAuth` into its exports: no named ESM import of it.
const { auth, requiresAuth } = expressOpenidConnect

export const build: BuildServer = async (spec) => {
  const app = express()
  app.use(auth({
    issuerBaseURL: required(spec, 'issuer'),
    baseURL: `http://${HOST}:${spec.port}`,
    clientID: required(spec, 'clientId'),
    clientSecret: required(spec, 'clientSecret'),
    clientAuthMethod: 'client_secret_basic',
    secret: required(spec, 'sessionSecret'),
    authRequired: false,
    idpLogout: false,
    authorizationParams: { response_type: 'code', scope: SCOPE }
  }))
  app.get('/', (_req, res) => { res.send('home') })
  app.get(ROUTE, requiresAuth(), (req, res) => { res.json({ sub: req.oidc.user?.['sub'] }) })
  return nodeServer(createServer(app))
}

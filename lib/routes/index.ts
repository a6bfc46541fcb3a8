import type { FastifyInstance } from 'fastify'
import fastifyFormbody from '@fastify/formbody'
import type { Runtime } from '../runtime.js'
import { backchannelLogoutRoute } from './backchannel-logout.js'
import { callbackRoute } from './callback.js'
import { oidcErrorHandler } from './error-handler.js'
import { jwksRoute } from './jwks.js'
import { loginRoute } from './login.js'
import { logoutRoute } from './logout.js'
import { refreshRoute } from './refresh.js'
import { sessionRoute } from './session.js'

/** The plugin's routes, in their own encapsulated context (their error handler does not touch the app's). */
export function registerRoutes (fastify: FastifyInstance, runtime: Runtime): void {
  fastify.register(async (routes) => {
    routes.setErrorHandler(oidcErrorHandler)
    // An HTML form (`<form method="post" action="/auth/logout">`) posts urlencoded
    // fields, which Fastify alone answers with 415 before any route code runs.
    if (!routes.hasContentTypeParser('application/x-www-form-urlencoded')) await routes.register(fastifyFormbody, { bodyLimit: 64 * 1024 })
    // `fetch('/auth/refresh', { method: 'POST', headers: { 'content-type': 'application/json' } })`
    // sends an empty JSON body, which Fastify's parser refuses with 400: the routes read no body.
    const parseJson = routes.getDefaultJsonParser('error', 'error')
    routes.removeContentTypeParser('application/json')
    routes.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: 64 * 1024 }, (request, body, done) => {
      if (body === '') done(null, undefined)
      else parseJson(request, body as string, done)
    })
    loginRoute(routes, runtime)
    callbackRoute(routes, runtime)
    logoutRoute(routes, runtime)
    refreshRoute(routes, runtime)
    sessionRoute(routes)
    backchannelLogoutRoute(routes, runtime)
    jwksRoute(routes, runtime)
  }, { prefix: runtime.config.prefix })
}

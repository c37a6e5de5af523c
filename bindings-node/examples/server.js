'use strict'
// A plain `node:http` server for all four NOX Authenticator endpoints, through `handleHttp`:
//   POST /v2/supplier/link-sessions      POST /v2/manufacturer/link-sessions
//   POST /users/{userId}/link            POST /manufacturers/nox
//
//   NOX_CONFIG=config.json PORT=8080 node examples/server.js
//   NOX_CONFIG=config.json NOX_WORKERS=4 node examples/server.js   # 4 worker processes
//
// With several workers, give the configuration a shared `store` (`sqlite:PATH` or a
// `postgres://` URL): each worker opens it, and all of them see the same sessions.
// NOX_SERVE_ADMIN=1 also serves the admin routes (`/admin/link-sessions/...`) through
// `handleAdminHttp`: only with an admin key in the configuration, or on a private port.
//
// In an application, require('nox-authenticator') instead of '..'.
const fs = require('node:fs')
const cluster = require('node:cluster')
const http = require('node:http')
const { Authenticator } = require('..')

/** A request listener serving the API with `auth` (and the admin routes, if `serveAdmin`). */
function listener(auth, { serveAdmin = false } = {}) {
  return (req, res) => {
    const chunks = []
    req.on('data', (chunk) => chunks.push(chunk))
    req.on('end', () => {
      // rawHeaders keeps repeated headers apart: [name, value, name, value, ...].
      const headers = []
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]])
      const request = { method: req.method, path: req.url, headers, body: Buffer.concat(chunks) }
      const admin = serveAdmin && req.url.startsWith('/admin/')
      const response = admin ? auth.handleAdminHttp(request) : auth.handleHttp(request)
      res.writeHead(response.status, response.headers).end(response.body)
    })
  }
}

/** A server (not yet listening) for this authenticator. */
function createServer(auth, options) {
  return http.createServer(listener(auth, options))
}

/** Starts the server from the environment (NOX_CONFIG, PORT, HOST, NOX_SERVE_ADMIN). */
function main(wrap = (l) => l) {
  const configPath = process.env.NOX_CONFIG ?? process.argv[2]
  if (!configPath) {
    console.error('usage: NOX_CONFIG=config.json [PORT=8080] [HOST=127.0.0.1] [NOX_WORKERS=4] node examples/server.js')
    process.exit(2)
  }
  const auth = Authenticator.fromJson(fs.readFileSync(configPath, 'utf8'))
  const server = http.createServer(wrap(listener(auth, { serveAdmin: process.env.NOX_SERVE_ADMIN === '1' })))
  server.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? '127.0.0.1', () => {
    const { address, port } = server.address()
    console.log(`listening on http://${address}:${port}`)
  })
  process.on('SIGTERM', () => server.close(() => process.exit(0)))
}

/** Runs `main` in NOX_WORKERS worker processes of one cluster (all on one port), or inline. */
function start(wrap) {
  const workers = Number(process.env.NOX_WORKERS ?? 0)
  if (workers > 0 && cluster.isPrimary) {
    // Port 0 is chosen once by the primary, so every worker shares it.
    for (let i = 0; i < workers; i++) cluster.fork()
    let announced = false
    cluster.on('message', (_worker, message) => {
      if (!announced && message && message.listening) {
        announced = true
        console.log(`listening on ${message.listening} (${workers} workers)`)
      }
    })
    process.on('SIGTERM', () => {
      for (const worker of Object.values(cluster.workers)) worker.kill('SIGTERM')
      process.exit(0)
    })
    return
  }
  if (workers > 0) {
    const log = console.log
    console.log = (line, ...rest) => {
      const match = /^listening on (\S+)/.exec(line)
      if (match) process.send({ listening: match[1] })
      else log(line, ...rest)
    }
  }
  main(wrap)
}

if (require.main === module) start()

module.exports = { createServer, listener, start }

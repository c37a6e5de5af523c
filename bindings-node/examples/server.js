'use strict'
// A plain `node:http` server for all four NOX Authenticator endpoints, through `handleHttp`:
//   POST /v2/supplier/link-sessions      POST /v2/manufacturer/link-sessions
//   POST /users/{userId}/link            POST /manufacturers/nox
//
//   NOX_CONFIG=config.json PORT=8080 node examples/server.js
//
// In an application, require('nox-authenticator') instead of '..'.
const fs = require('node:fs')
const http = require('node:http')
const { Authenticator } = require('..')

/** A request listener serving the API with `auth`. */
function listener(auth) {
  return (req, res) => {
    const chunks = []
    req.on('data', (chunk) => chunks.push(chunk))
    req.on('end', () => {
      // rawHeaders keeps repeated headers apart: [name, value, name, value, ...].
      const headers = []
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]])
      const response = auth.handleHttp({ method: req.method, path: req.url, headers, body: Buffer.concat(chunks) })
      res.writeHead(response.status, response.headers).end(response.body)
    })
  }
}

/** A server (not yet listening) for this authenticator. */
function createServer(auth) {
  return http.createServer(listener(auth))
}

if (require.main === module) {
  const configPath = process.env.NOX_CONFIG ?? process.argv[2]
  if (!configPath) {
    console.error('usage: NOX_CONFIG=config.json [PORT=8080] [HOST=127.0.0.1] node examples/server.js')
    process.exit(2)
  }
  const auth = Authenticator.fromJson(fs.readFileSync(configPath, 'utf8'))
  const server = createServer(auth)
  server.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? '127.0.0.1', () => {
    const { address, port } = server.address()
    console.log(`listening on http://${address}:${port}`)
  })
  process.on('SIGTERM', () => server.close(() => process.exit(0)))
}

module.exports = { createServer, listener }

'use strict'
// examples/server.js under `cluster` (NOX_WORKERS), with each response naming the worker process
// that answered it, so that cluster.test.js can see requests cross workers.
const { start } = require('../examples/server.js')

start((inner) => (req, res) => {
  res.setHeader('x-worker-pid', String(process.pid))
  inner(req, res)
})

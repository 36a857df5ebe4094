// A stand-in server for the startServerProcess tests: `node toy-server.mjs <mode>`.
// serve: after 150 ms, listens on PORT (0: any), answers /healthz 200, logs sync-server's line.
// crash: prints a reason and exits 3. silent: runs and never becomes ready.
import { createServer } from 'node:http';

const mode = process.argv[2];
if (mode === 'crash') {
  console.error('cannot start: no database');
  process.exit(3);
}
// Listens, but says nothing: only a log line would tell it is ready.
if (mode === 'silent') createServer().listen(0, '127.0.0.1');
if (mode === 'serve') {
  setTimeout(() => {
    const server = createServer((req, res) => {
      res.statusCode = req.url === '/healthz' ? 200 : 404;
      res.end();
    });
    server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
      const url = `http://127.0.0.1:${server.address().port}`;
      console.log(JSON.stringify({ level: 30, msg: 'listening', url }));
    });
    process.once('SIGTERM', () => server.close(() => process.exit(0)));
  }, 150);
}

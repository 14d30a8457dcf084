// Loaded into a petgate process by `node --import` (NODE_OPTIONS): when a line matching
// PETGATE_SIGNAL_ON_READY is written to standard error, the process sends itself SIGINT from inside
// that write, before its next statement runs: the earliest a test reading that line could signal it.
const ready = new RegExp(process.env.PETGATE_SIGNAL_ON_READY ?? "(?!)");
const write = process.stderr.write.bind(process.stderr);
process.stderr.write = (chunk, ...rest) => {
  const written = write(chunk, ...rest);
  if (ready.test(String(chunk))) process.kill(process.pid, "SIGINT");
  return written;
};

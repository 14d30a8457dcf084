/** `promise`, or a rejection once `ms` have passed: Error(`failure`), or the error `failure` makes. */
export function withTimeout<T>(promise: Promise<T>, ms: number, failure: string | (() => Error)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(typeof failure === "string" ? new Error(failure) : failure()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

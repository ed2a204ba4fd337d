/** A bad command line or config: main prints the message and the usage and exits 2. */
export class UsageError extends Error {}

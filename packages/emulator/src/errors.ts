/**
 * An error the emulator raises for bad input or setup. Same shape as the client's LakebaseError (a stable
 * UPPER_SNAKE `code` and a `suggestion`) without the emulator depending on the client.
 */
export class EmulatorError extends Error {
  override readonly name = 'EmulatorError';

  constructor(
    readonly code: string,
    message: string,
    readonly suggestion: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Ports the API needs from the outside world, injected by the composition root.
 * The voicebox audio lives in Asterisk (ARI stored recordings); the lead wires an ARI-backed
 * implementation, tests use an in-memory one.
 */
export interface RecordingFiles {
  /** undefined when the recording does not exist (any more) */
  getFile(name: string): Promise<{ body: Buffer; contentType: string } | undefined>;
  /** deleting a recording that does not exist is not an error */
  delete(name: string): Promise<void>;
}

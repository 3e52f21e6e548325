/**
 * The voicebox audio: messages and greetings are ARI stored recordings in Asterisk. The
 * provisioning API serves and deletes them through this port (tests use an in-memory one).
 */
import { isNotFound } from '../../ari/index.js';
import type { CallAri } from './session.js';

export interface RecordingFiles {
  /** undefined when the recording does not exist (any more) */
  getFile(name: string): Promise<{ body: Buffer; contentType: string } | undefined>;
  /** deleting a recording that does not exist is not an error */
  delete(name: string): Promise<void>;
}

/** RecordingFiles backed by ARI stored recordings. */
export function createAriRecordingFiles(ari: Pick<CallAri, 'recordings'>): RecordingFiles {
  return {
    async getFile(name) {
      try {
        const body = await ari.recordings.getStoredFile({ recordingName: name });
        return { body, contentType: 'audio/wav' };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async delete(name) {
      try {
        await ari.recordings.deleteStored({ recordingName: name });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },
  };
}

/**
 * When a completed session counts as success: the source has ended, every byte up to its end was sent (or held
 * by the server before this upload joined it), and whatever the server reports of the object (size, CRC32C, MD5)
 * agrees with what was sent. What the server leaves out is not held against it; what it reports must match.
 * @module
 */
import { IntegrityError, ProtocolError, SizeMismatchError, type RequestDetails } from '../errors.js';
import type { ObjectDigest } from './replay-source.js';
import type { StoredObject } from './session.js';

/** What the client knows about the object it sent. */
export interface SentObject {
  /** Whether the source has ended (its size is known). */
  ended: boolean;
  /** The source's size, once ended. */
  size: number;
  /** One past the last byte sent (or held by the server when this upload joined the session). */
  sentUpTo: number;
  /** Checksums of the whole content, when computed. */
  digest: ObjectDigest | undefined;
}

/** The values to report for a verified object: the server's where it gave them, else the client's. */
export interface VerifiedObject {
  size: number;
  crc32c: string | undefined;
  md5: string | undefined;
}

/** Compares the server's checksums with the client's, where both have one. */
export function compareChecksums(object: StoredObject, digest: ObjectDigest | undefined): void {
  if (digest === undefined) return;
  if (digest.crc32c !== undefined && object.crc32c !== undefined && digest.crc32c !== object.crc32c) {
    throw new IntegrityError('crc32c', digest.crc32c, object.crc32c);
  }
  if (digest.md5 !== undefined && object.md5Hash !== undefined && digest.md5 !== object.md5Hash) {
    throw new IntegrityError('md5', digest.md5, object.md5Hash);
  }
}

/**
 * Verifies a completion the server announced. Throws {@link ProtocolError} for a completion before the source ended
 * or before every byte was sent, {@link IntegrityError} when a reported size or checksum differs.
 */
export function verifyCompletion(object: StoredObject, sent: SentObject, request: RequestDetails): VerifiedObject {
  const reported = object.size === undefined ? 'an unreported size' : `${object.size} bytes`;
  if (!sent.ended) throw new ProtocolError(`the server completed the upload at ${reported} before the source ended`, request);
  if (sent.sentUpTo < sent.size) {
    throw new ProtocolError(`the server completed the upload at ${reported} though only ${sent.sentUpTo} of ${sent.size} bytes were sent`, request);
  }
  if (object.size !== undefined && object.size !== sent.size) throw new IntegrityError('size', String(sent.size), String(object.size));
  compareChecksums(object, sent.digest);
  return { size: sent.size, crc32c: object.crc32c ?? sent.digest?.crc32c, md5: object.md5Hash ?? sent.digest?.md5 };
}

/**
 * Verifies a session that was complete before this upload joined it against the source fed to it again: the sizes
 * must agree ({@link SizeMismatchError} otherwise) and so must the checksums.
 */
export function verifyAlreadyComplete(object: StoredObject, size: number, digest: ObjectDigest | undefined): VerifiedObject {
  if (object.size !== undefined && object.size !== size) {
    throw new SizeMismatchError('The source and the completed session differ', object.size, size);
  }
  compareChecksums(object, digest);
  return { size, crc32c: object.crc32c ?? digest?.crc32c, md5: object.md5Hash ?? digest?.md5 };
}

import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { type Issue, issue } from '../result.js';

/**
 * A local file as text, read in chunks so that no file is ever held whole: gzip is recognised by its
 * magic bytes (CloudTrail and export-to-S3 objects are gzip whatever their name; Firehose objects are
 * gzip members back to back, which the streaming gunzip reads as one text).
 */

/** How much is read to recognise a file: room for its first record (a CloudWatch event is at most 256 KiB). */
export const HEAD_BYTES = 1024 * 1024;
const CHUNK_BYTES = 256 * 1024;

export interface FileHead {
  text: string;
  /** The whole file is in `text`. */
  complete: boolean;
  gzip: boolean;
}

const isGzipMagic = (b: Uint8Array): boolean => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const gzipMagic = async (path: string): Promise<boolean> => {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return isGzipMagic(buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
};

/**
 * Whether a byte stream is valid UTF-8, checked chunk by chunk: a sequence cut by a chunk boundary
 * is checked with the next chunk. The text decoder reads invalid sequences as U+FFFD; this tells
 * them from a U+FFFD the file really holds.
 */
export class Utf8Check {
  /** Set once any byte so far was not valid UTF-8; never cleared. */
  invalid = false;
  private carry: Buffer | undefined;

  write(chunk: Buffer): void {
    if (this.invalid) return;
    let buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = undefined;
    // A sequence begun in the last three bytes may be completed by the next chunk (at most 4 bytes).
    for (let i = buf.length - 1; i >= Math.max(0, buf.length - 3); i--) {
      const b = buf[i] as number;
      if ((b & 0xc0) === 0x80) continue;
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
      if (i + need > buf.length) {
        this.carry = Buffer.from(buf.subarray(i));
        buf = buf.subarray(0, i);
      }
      break;
    }
    if (!isUtf8(buf)) this.invalid = true;
  }

  /** The end of the stream: a sequence still open there is invalid. */
  end(): void {
    if (this.carry !== undefined && this.carry.length > 0) this.invalid = true;
    this.carry = undefined;
  }
}

/**
 * Decoded text chunks of a file. `onBytes` is told how many bytes of the file (compressed, for gzip)
 * each step read, for progress. `utf8`, when given, learns whether the (decompressed) bytes were
 * valid UTF-8 before the text decoded from them is handed on. Throws FileTextError on a read or
 * gunzip failure.
 */
export async function* fileTextChunks(
  path: string,
  gzip: boolean,
  onBytes: (n: number) => void = () => {},
  utf8?: Utf8Check,
): AsyncGenerator<string> {
  const file = createReadStream(path, { highWaterMark: CHUNK_BYTES });
  const source = gzip ? file.pipe(createGunzip({ chunkSize: CHUNK_BYTES })) : file;
  if (gzip) file.on('error', (e) => source.destroy(e));
  const decoder = new StringDecoder('utf8');
  // Progress from bytesRead, never from a 'data' listener: one would switch the file to flowing mode
  // and read it ahead of the consumer, whole, into memory.
  let reported = 0;
  try {
    for await (const chunk of source) {
      if (file.bytesRead > reported) {
        onBytes(file.bytesRead - reported);
        reported = file.bytesRead;
      }
      utf8?.write(chunk as Buffer);
      const text = decoder.write(chunk as Buffer);
      if (text) yield text;
    }
  } catch (e) {
    throw new FileTextError(
      gzip ? `looks gzip-compressed but does not decompress: ${errText(e)}` : `cannot be read: ${errText(e)}`,
      gzip ? 'FILE_NOT_GZIP' : 'FILE_UNREADABLE',
      { cause: e },
    );
  } finally {
    file.destroy();
    if (source !== file) source.destroy();
  }
  utf8?.end();
  const rest = decoder.end();
  if (rest) yield rest;
}

/**
 * SHA-256 of a file's bytes as stored (hex): its identity wherever it lies and whatever it is called,
 * for the quarantine keys of its records (lib/local/replay.ts). Throws FileTextError when unreadable.
 */
export const fileDigest = async (path: string): Promise<string> => {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES })) hash.update(chunk as Buffer);
  } catch (e) {
    throw new FileTextError(`cannot be read: ${errText(e)}`, 'FILE_UNREADABLE', { cause: e });
  }
  return hash.digest('hex');
};

export class FileTextError extends Error {
  constructor(
    message: string,
    readonly code: Extract<Issue['code'], 'FILE_NOT_GZIP' | 'FILE_UNREADABLE'>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FileTextError';
  }

  get issue(): Issue {
    return issue(this.code, this.message);
  }
}

/** The first HEAD_BYTES of text of a file (decompressed), to recognise its shape. */
export const readHead = async (path: string): Promise<FileHead> => {
  let gzip: boolean;
  try {
    gzip = await gzipMagic(path);
  } catch (e) {
    throw new FileTextError(`cannot be read: ${errText(e)}`, 'FILE_UNREADABLE', { cause: e });
  }
  const parts: string[] = [];
  let length = 0;
  let complete = true;
  const chunks = fileTextChunks(path, gzip);
  for await (const text of chunks) {
    parts.push(text);
    length += text.length;
    if (length >= HEAD_BYTES) {
      complete = false;
      await chunks.return(undefined);
      break;
    }
  }
  return { text: parts.join(''), complete, gzip };
};

/** Lines of a text stream, without their `\n` (a `\r` before it is left to the caller). */
export async function* linesOf(chunks: AsyncIterable<string>): AsyncGenerator<string> {
  let carry = '';
  for await (const chunk of chunks) {
    const text = carry + chunk;
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      yield text.slice(start, nl);
      start = nl + 1;
    }
    carry = text.slice(start);
  }
  if (carry !== '') yield carry;
}

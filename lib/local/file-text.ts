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
 * Decoded text chunks of a file. `onBytes` is told how many bytes of the file (compressed, for gzip)
 * each step read, for progress. Throws FileTextError on a read or gunzip failure.
 */
export async function* fileTextChunks(
  path: string,
  gzip: boolean,
  onBytes: (n: number) => void = () => {},
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
  const rest = decoder.end();
  if (rest) yield rest;
}

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

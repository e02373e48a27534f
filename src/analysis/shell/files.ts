import { posix } from 'node:path';

/** Where the content of a file the script itself wrote came from. */
export type FileOrigin =
  | { kind: 'downloaded'; by: string }
  /** `line`: where the text starts in the submitted script, so findings in it point there. */
  | { kind: 'literal'; text: string; line: number };

/**
 * Files the script writes and later runs: `curl -o x.sh …; bash x.sh` is download-and-execute,
 * and `cat > job.py <<EOF … EOF; python3 job.py` can be analysed like inline code. Any write we
 * cannot attribute forgets what we knew (a dynamic redirection forgets everything), so a file is
 * only judged by content when nothing else can have replaced it.
 */
export class ScriptFiles {
  readonly #files = new Map<string, FileOrigin>();

  static key(path: string): string {
    return posix.normalize(path).replace(/^(\.\/)+/, '');
  }

  get(path: string): FileOrigin | undefined {
    return this.#files.get(ScriptFiles.key(path));
  }

  /** Record a write: its origin when known, otherwise the file's content is unknown from now on. */
  wrote(path: string, origin: FileOrigin | null, append = false): void {
    const key = ScriptFiles.key(path);
    const old = this.#files.get(key);
    if (origin === null) this.#files.delete(key);
    else if (append && origin.kind === 'literal') {
      // Appending to a file we did not see written leaves its content unknown; to a downloaded one, downloaded.
      if (old?.kind === 'literal') this.#files.set(key, { ...old, text: old.text + origin.text });
    } else this.#files.set(key, origin);
  }

  /** A write to a path known only at run time may have hit any file. */
  forgetAll(): void {
    this.#files.clear();
  }
}

import { readdir, readFile } from 'node:fs/promises';

/** Process helpers (Linux /proc) for the tests that kill an emulator and check what it leaves running. */

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The parent pid, from /proc (Linux): field 4 of /proc/<pid>/stat, after the command name in parentheses. */
export async function parentOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

export async function childrenOf(pid: number): Promise<number[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const parents = await Promise.all(pids.map((p) => parentOf(p).catch(() => -1)));
  return pids.filter((_, i) => parents[i] === pid);
}

/**
 * Platforms ("linux/amd64", "linux/arm/v7") and the choice of a platform manifest inside an
 * image index, following containerd's matcher: same os and architecture, the exact variant
 * first, then an entry without variant, then (arm only) older variants the CPU still runs.
 */

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const ARCH_ALIASES: Record<string, string> = { x86_64: 'amd64', x86: '386', i386: '386', aarch64: 'arm64', armhf: 'arm', armel: 'arm' };

/** Normalizes architecture names and drops the implicit arm64 variant "v8". */
export function normalizePlatform(p: Platform): Platform {
  const architecture = ARCH_ALIASES[p.architecture.toLowerCase()] ?? p.architecture.toLowerCase();
  let variant = p.variant !== undefined && p.variant !== '' ? p.variant.toLowerCase() : undefined;
  if (architecture === 'arm64' && variant === 'v8') variant = undefined;
  return { os: p.os.toLowerCase(), architecture, ...(variant !== undefined ? { variant } : {}) };
}

export function formatPlatform(p: Platform): string {
  const n = normalizePlatform(p);
  return [n.os, n.architecture, n.variant].filter((s) => s !== undefined).join('/');
}

/**
 * The host platform as the engine reports it: `version()` gives Os/Arch, `info()` the kernel's
 * machine name ("armv7l"), which is the only place the arm variant shows.
 */
export function enginePlatform(version: { Os?: string; Arch?: string }, info: { OSType?: string; Architecture?: string }): Platform {
  const os = version.Os ?? info.OSType ?? 'linux';
  const arch = version.Arch ?? info.Architecture ?? 'amd64';
  const machine = (info.Architecture ?? '').toLowerCase();
  const armVariant = /^armv(\d+)/.exec(machine);
  const variant = normalizePlatform({ os, architecture: arch }).architecture === 'arm' && armVariant ? `v${armVariant[1]}` : undefined;
  return normalizePlatform({ os, architecture: arch, ...(variant ? { variant } : {}) });
}

export interface IndexEntry {
  digest: string;
  mediaType?: string;
  platform?: { os: string; architecture: string; variant?: string };
}

function armVariantNumber(variant: string | undefined): number | undefined {
  const m = /^v(\d+)$/.exec(variant ?? '');
  return m ? Number(m[1]) : undefined;
}

/** The entry of an index this platform runs, or undefined when the index has none for it. */
export function selectPlatformManifest<E extends IndexEntry>(entries: readonly E[], want: Platform): E | undefined {
  const host = normalizePlatform(want);
  let best: { entry: E; rank: number } | undefined;
  for (const entry of entries) {
    if (!entry.platform) continue;
    const p = normalizePlatform(entry.platform);
    if (p.os !== host.os || p.architecture !== host.architecture) continue;
    let rank: number | undefined;
    if (p.variant === host.variant) rank = 1000;
    else if (p.variant === undefined) rank = 500;
    else if (host.architecture === 'arm') {
      const h = armVariantNumber(host.variant);
      const e = armVariantNumber(p.variant);
      if (h !== undefined && e !== undefined && e < h) rank = e;
    }
    if (rank !== undefined && (best === undefined || rank > best.rank)) best = { entry, rank };
  }
  return best?.entry;
}

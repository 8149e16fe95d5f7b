/**
 * Reads a Prometheus text exposition with Prometheus' own parser (the Python client's
 * `prometheus_client.parser`, Debian's python3-prometheus-client, installed by
 * scripts/test-env.sh), not with regular expressions, and looks samples up by name and labels.
 * The reference parser rejects what Prometheus would reject (bad escaping, a sample outside its
 * family, a malformed value), so a green test also proves the output scrapes.
 */
import { execFileCapture } from '../../src/util/exec.js';

export interface Sample {
  /** The sample's own name: `x_total`, `x_bucket`, `x_sum`… */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const PARSER = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "help": f.documentation,
                "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]})
json.dump(out, sys.stdout, allow_nan=True)
`;

export async function parseExposition(text: string): Promise<Exposition> {
  const r = await execFileCapture('/usr/bin/python3', ['-c', PARSER], { input: text, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`the Prometheus parser refused the exposition (exit ${r.code}): ${r.stderr}\n${text}`);
  return new Exposition(text, JSON.parse(r.stdout) as Family[]);
}

export class Exposition {
  constructor(
    readonly text: string,
    readonly families: Family[],
  ) {}

  family(name: string): Family | undefined {
    return this.families.find((f) => f.name === name);
  }

  /** Samples named `name` (the sample name, e.g. `driftd_sync_total`) whose labels include `labels`. */
  samples(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.families.flatMap((f) => f.samples).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  }

  /** The value of the one sample with this name and these labels; undefined when there is none. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const found = this.samples(name, labels);
    if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
    return found[0]?.value;
  }
}

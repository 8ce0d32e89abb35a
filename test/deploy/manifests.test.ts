import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { AGENT_OPTIONS, agentConfig } from '../../cli/agent.js';
import { COLLECTOR_OPTIONS, collectorConfig } from '../../cli/collector.js';
import { REPO_ROOT } from '../helpers/repo.js';

// No Kubernetes cluster and no Docker engine run on this machine, so deploy/ is not applied
// here. What can drift without one is checked: every container's `args` in the manifests
// is a podspan command line the CLI accepts (the same flag parsing and validation as
// `podspan agent` / `podspan collector`, without starting anything), and the Dockerfile's
// entry point is the built CLI.

const DEPLOY = join(REPO_ROOT, 'deploy');

function argsLines(yaml: string): string[][] {
  const out: string[][] = [];
  for (const m of yaml.matchAll(/^\s*args:\s*(\[.*\])\s*$/gm)) out.push(JSON.parse(m[1]!) as string[]);
  return out;
}

t.test('every podspan command line in deploy/*.yaml parses and validates', async (t) => {
  const files = readdirSync(DEPLOY).filter((f) => f.endsWith('.yaml'));
  t.ok(files.length >= 3, 'manifests present');
  let n = 0;
  for (const f of files) {
    for (const argv of argsLines(readFileSync(join(DEPLOY, f), 'utf8'))) {
      const [cmd, ...rest] = argv;
      const options = cmd === 'agent' ? AGENT_OPTIONS : cmd === 'collector' ? COLLECTOR_OPTIONS : undefined;
      t.ok(options !== undefined, `${f}: ${argv.join(' ')} is agent or collector`);
      const { values, positionals } = parseArgs({ args: rest, options: options!, allowPositionals: true, strict: true });
      t.same(positionals, [], `${f}: no stray arguments`);
      if (cmd === 'agent') t.doesNotThrow(() => agentConfig(values), `${f}: agent flags valid`);
      else t.doesNotThrow(() => collectorConfig(values, false), `${f}: collector flags valid`);
      n++;
    }
  }
  t.equal(n, 2, 'the agent DaemonSet and the collector Deployment');
});

t.test('the agent DaemonSet has what capture needs: host network, NET_RAW/NET_ADMIN, NODE_NAME, the RBAC service account', async (t) => {
  const ds = readFileSync(join(DEPLOY, 'agent-daemonset.yaml'), 'utf8');
  t.match(ds, /hostNetwork: true/);
  t.match(ds, /add: \["NET_RAW", "NET_ADMIN"\]/);
  t.match(ds, /name: NODE_NAME\s+valueFrom:\s+fieldRef: \{ fieldPath: spec\.nodeName \}/);
  const sa = /serviceAccountName: (\S+)/.exec(ds)?.[1];
  const rbac = readFileSync(join(DEPLOY, 'rbac.yaml'), 'utf8');
  t.match(rbac, new RegExp(`kind: ServiceAccount\\s+metadata:\\s+name: ${sa}`));
  t.match(rbac, /resources: \["pods"\]\s+verbs: \["get", "list", "watch"\]/);
  t.match(readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8'), /ENTRYPOINT \["node", "\/app\/dist\/cli\/main\.js"\]/);
});

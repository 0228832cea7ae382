import { type ComputeSettings, type EndpointInfo, LakebaseEndpoints } from '@lakebase-kit/client';
import { parseComputeUnits, parseDuration } from '@lakebase-kit/client/toolkit';
import type { Command } from 'commander';
import { commandOptions } from '../context.js';
import { printJson } from '../output.js';

interface SettingsFlags {
  minCu?: string;
  maxCu?: string;
  suspendAfter?: string;
  suspend?: boolean;
  json?: boolean;
}

export function registerEndpointCommand(program: Command): void {
  const endpoint = program
    .command('endpoint')
    .description(
      "Computes (endpoints) of the configured endpoint's branch: size (CU), scale to zero, read-write or read-only.",
    )
    .addHelpText(
      'after',
      `
An endpoint is an id on the branch (e.g. primary) or a full name; update defaults to the configured endpoint.
Sizes: 0.5, 1 to 16, 24, 28 or 32 CU, max - min at most 8; --suspend-after 60s to 7d, or --no-suspend.

Examples:
  $ lakebase endpoint list
  $ lakebase endpoint update --min-cu 0.5 --max-cu 4 --suspend-after 5m
  $ lakebase endpoint update primary --no-suspend --json
  $ lakebase endpoint create replica --read-only --min-cu 1 --max-cu 2
  $ lakebase endpoint delete replica`,
    );

  endpoint
    .command('list')
    .description('List the endpoints with their type, state, size, suspend timeout and host.')
    .option('--json', 'print the list as one JSON line')
    .action(async (flags: { json?: boolean }) => {
      const endpoints = await (await open()).list();
      if (flags.json) return printJson(endpoints.map(summary));
      for (const e of endpoints) process.stdout.write(`${line(e)}\n`);
    });

  const withSettings = (command: Command) =>
    command
      .option('--min-cu <cu>', 'smallest size while autoscaling, in CU (0.5, 1-16, 24, 28, 32)')
      .option('--max-cu <cu>', 'largest size while autoscaling, in CU (at most 8 above --min-cu)')
      .option('--suspend-after <duration>', 'scale to zero after this long without activity: 60s to 7d (e.g. 5m)')
      .option('--no-suspend', 'never scale to zero')
      .option('--json', 'print the endpoint as one JSON line');

  withSettings(
    endpoint
      .command('create')
      .argument('<endpoint>', 'endpoint id on the branch, e.g. replica')
      .description('Create an endpoint: read-write (one per branch) or --read-only.')
      .option('--read-only', 'a read-only endpoint (a replica with its own host)'),
  ).action(async (id: string, flags: SettingsFlags & { readOnly?: boolean }) => {
    const settings = settingsOf(flags);
    const created = await (await open()).create(id, { ...settings, ...(flags.readOnly ? { readOnly: true } : {}) });
    report(created, flags.json, 'Created');
  });

  withSettings(
    endpoint
      .command('update')
      .argument('[endpoint]', 'endpoint id or full name (default: the configured endpoint)')
      .description('Change the size or the scale-to-zero timeout of an endpoint.'),
  ).action(async (name: string | undefined, flags: SettingsFlags) => {
    const updated = await (await open()).update(name, settingsOf(flags));
    report(updated, flags.json, 'Updated');
  });

  endpoint
    .command('delete')
    .argument('<endpoint>', 'endpoint id or full name')
    .description('Delete an endpoint.')
    .option('--json', 'print {deleted} as one JSON line')
    .action(async (name: string, flags: { json?: boolean }) => {
      await (await open()).delete(name);
      if (flags.json) printJson({ deleted: name });
      else process.stdout.write(`Deleted endpoint ${name}.\n`);
    });
}

async function open(): Promise<LakebaseEndpoints> {
  return new LakebaseEndpoints(await commandOptions());
}

/** The flags as settings, parsed and checked before any request (`LAKEBASE_CONFIG_INVALID` outside Lakebase's range). */
function settingsOf(flags: SettingsFlags): ComputeSettings {
  return {
    ...(flags.minCu !== undefined ? { minCu: parseComputeUnits(flags.minCu, '--min-cu') } : {}),
    ...(flags.maxCu !== undefined ? { maxCu: parseComputeUnits(flags.maxCu, '--max-cu') } : {}),
    ...(flags.suspendAfter !== undefined
      ? { suspendAfterSeconds: parseDuration(flags.suspendAfter, '--suspend-after') }
      : {}),
    // commander sets `suspend: false` for --no-suspend, and true by default.
    ...(flags.suspend === false ? { noSuspend: true } : {}),
  };
}

function report(e: EndpointInfo, json: boolean | undefined, verb: string): void {
  if (json) printJson(summary(e));
  else process.stdout.write(`${verb} endpoint ${e.id}\n${line(e)}\n`);
}

function summary(e: EndpointInfo) {
  return {
    name: e.name,
    id: e.id,
    type: e.readOnly ? 'read-only' : 'read-write',
    state: e.state,
    host: e.host ?? null,
    minCu: e.minCu ?? null,
    maxCu: e.maxCu ?? null,
    suspendAfterSeconds: e.suspendAfterSeconds ?? null,
    noSuspend: e.noSuspend,
  };
}

function line(e: EndpointInfo): string {
  const size = e.minCu === undefined ? '' : ` ${e.minCu}-${e.maxCu} CU`;
  const suspend = e.noSuspend
    ? ' never suspends'
    : e.suspendAfterSeconds
      ? ` suspends after ${e.suspendAfterSeconds}s`
      : '';
  const state = e.state === 'IDLE' ? 'IDLE (suspended)' : e.state;
  return `${e.id.padEnd(20)} ${(e.readOnly ? 'read-only' : 'read-write').padEnd(10)} ${state.padEnd(16)}${size}${suspend}  ${e.host ?? ''}`;
}

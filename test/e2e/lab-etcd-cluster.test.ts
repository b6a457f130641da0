// End-to-end: the lab on a 3-member etcd cluster (`lab up --datastore etcdv3 --etcd-members 3`,
// issue 15 item 4). Each member in its own namespace with its own socket, mutual TLS to clients,
// TLS between members. A follower is SIGKILLed: a policy change still lands and every agent
// follows it; the follower restarts on its data and rejoins. Then the leader is SIGKILLed: the
// other two elect a new one, a policy change and a pod add succeed, and the agents' watches
// (moved to a live member) follow the change. `lab down` leaves nothing.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { describe, it } from 'node:test';
import { labEtcdMembers, labEtcdTls, readLabState, restartLabEtcdMember, type LabState } from '../../src/lab/index.ts';
import { applyToLab, assertLabGone, eventually, forgetLab, labSkipReason, probeAll, recordedPids, tri, triOk, triOnLab, uniqueLab } from './lab-harness.ts';

const skip = labSkipReason(['etcd']);

/** A member's view of the cluster (etcd's maintenance status over its socket), or undefined when it does not answer. */
function memberStatus(s: LabState, i: number): Promise<{ memberId: string; leader: string; raftIndex: number } | undefined> {
  const e = s.etcd;
  const m = e === undefined ? undefined : labEtcdMembers(e)[i];
  const tls = e === undefined ? undefined : labEtcdTls(e, 'lab');
  if (m === undefined || tls === undefined) throw new Error('no etcd cluster');
  return new Promise((resolve) => {
    const req = request(
      { socketPath: m.clientSocket, host: 'localhost', servername: 'localhost', path: '/v3/maintenance/status', method: 'POST', timeout: 2000, agent: false, ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key) },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          try {
            const j = JSON.parse(body) as { header?: { member_id?: string }; leader?: string; raftIndex?: string };
            resolve(j.header?.member_id !== undefined && j.leader !== undefined ? { memberId: j.header.member_id, leader: j.leader, raftIndex: Number(j.raftIndex ?? 0) } : undefined);
          } catch {
            resolve(undefined);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end('{}');
  });
}

/** Index of the member that is leader now (all live members agreeing), or undefined. */
async function leaderIndex(s: LabState): Promise<number | undefined> {
  const st = await Promise.all([0, 1, 2].map((i) => memberStatus(s, i)));
  const live = st.filter((x) => x !== undefined);
  const leader = live[0]?.leader;
  if (leader === undefined || leader === '0' || !live.every((x) => x.leader === leader)) return undefined;
  const i = st.findIndex((x) => x?.memberId === leader);
  return i >= 0 ? i : undefined;
}

const policy = (allowFrom: string): string => `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: only-${allowFrom}
  namespace: x
spec:
  selector: all()
  types: [Ingress]
  ingress:
    - action: Allow
      protocol: TCP
      source:
        selector: role == '${allowFrom}'
`;

async function connectedPairs(lab: string): Promise<string[]> {
  const r = await probeAll(lab, 80, 'tcp', 1000);
  return r.results
    .filter((x) => x.connected)
    .map((x) => `${x.from}→${x.to}`)
    .sort();
}

void describe('lab on a 3-member etcd cluster', { skip, timeout: 400_000 }, () => {
  void it('a follower and then the leader killed: writes resume, agents follow, the members rejoin', async (t) => {
    const lab = uniqueLab();
    t.after(async () => {
      await tri(['lab', 'down', '--name', lab]);
      forgetLab(lab);
    });
    await triOk(['lab', 'up', '--name', lab, '--nodes', '2', '--datastore', 'etcdv3', '--etcd-members', '3'], lab);
    const s0 = readLabState(lab);
    assert.ok(s0?.etcd?.memberPids?.length === 3, 'three members');
    assert.equal(s0.etcd.endpoint.split(',').length, 3, 'every client gets the three endpoints');
    for (const [node, role] of [['node-1', 'r1'], ['node-2', 'r2']] as const) {
      await triOk(['lab', 'pod', 'add', `x/${role}`, '--node', node, '--labels', `role=${role}`, '--serve', 'tcp:80'], lab);
    }
    let pairs: string[] = [];
    const follows = async (want: string[], step: string): Promise<void> => {
      assert.ok(await eventually(async () => JSON.stringify((pairs = await connectedPairs(lab))) === JSON.stringify(want), 60_000), `${step}: ${pairs.join(', ')}`);
    };
    await applyToLab(lab, policy('r1'));
    await follows(['x/r1→x/r2'], 'before any fault');

    let leader: number | undefined;
    assert.ok(await eventually(async () => (leader = await leaderIndex(s0)) !== undefined, 30_000), 'the members agree on a leader');
    const follower = [0, 1, 2].find((i) => i !== leader) ?? 0;

    // 1. a follower goes: the two others keep a quorum, writes land, the agents follow
    process.kill(s0.etcd.memberPids[follower] ?? 0, 'SIGKILL');
    await applyToLab(lab, policy('r2'));
    await triOnLab(['delete', 'networkpolicy', 'only-r1', '-n', 'x'], lab);
    await follows(['x/r2→x/r1'], `etcd-${follower + 1} (a follower) killed`);
    await restartLabEtcdMember(s0, follower);
    assert.ok(await eventually(async () => (await memberStatus(s0, follower)) !== undefined, 30_000), `etcd-${follower + 1} rejoins on its data`);

    // 2. the leader goes: the other two elect one, writes resume, the agents' watches too
    const s1 = readLabState(lab);
    assert.ok(s1?.etcd?.memberPids !== undefined);
    assert.ok(await eventually(async () => (leader = await leaderIndex(s1)) !== undefined, 30_000), 'a leader after the follower rejoined');
    const oldLeader = leader ?? 0;
    process.kill(s1.etcd.memberPids[oldLeader] ?? 0, 'SIGKILL');
    let newLeader: number | undefined;
    assert.ok(await eventually(async () => (newLeader = await leaderIndex(s1)) !== undefined && newLeader !== oldLeader, 60_000), 'a new leader is elected');
    await applyToLab(lab, policy('r1'));
    await triOnLab(['delete', 'networkpolicy', 'only-r2', '-n', 'x'], lab);
    await triOk(['lab', 'pod', 'add', 'x/r3', '--node', 'node-1', '--labels', 'role=r3', '--serve', 'tcp:80'], lab);
    await follows(['x/r1→x/r2', 'x/r1→x/r3'], `etcd-${oldLeader + 1} (the leader) killed`);
    await restartLabEtcdMember(s1, oldLeader);
    assert.ok(await eventually(async () => (await memberStatus(s1, oldLeader)) !== undefined, 30_000), `etcd-${oldLeader + 1} rejoins`);
    // the rejoined member catches up with the others
    assert.ok(
      await eventually(async () => {
        const st = await Promise.all([0, 1, 2].map((i) => memberStatus(s1, i)));
        return st.every((x) => x !== undefined && x.raftIndex > 0) && new Set(st.map((x) => x?.leader)).size === 1;
      }, 30_000),
      'three members, one leader',
    );
    assert.match(await triOnLab(['ipam', 'check'], lab), /Check complete; found 0 problems/);

    const pids = recordedPids(lab);
    await triOk(['lab', 'down', '--name', lab]);
    forgetLab(lab);
    await assertLabGone(lab, pids);
  });
});

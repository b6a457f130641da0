// The wrapper ↔ agent wire format: round trips, and every framing error named.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTricolorError } from '../base/index.ts';
import { AGENT_PROTOCOL_MAGIC, encodeAgentReply, encodeAgentRequest, parseAgentReply, parseAgentRequest } from './agent-protocol.ts';

void test('a request round-trips, stdin byte for byte (newlines, "=", non-ASCII)', () => {
  const req = { env: { CNI_COMMAND: 'ADD', CNI_ARGS: 'A=1;B=2', CNI_PATH: '' }, stdin: '{"name":"n=é"}\n\nx' };
  assert.deepEqual(parseAgentRequest(Buffer.from(encodeAgentRequest(req))), req);
  assert.deepEqual(parseAgentRequest(Buffer.from(`${AGENT_PROTOCOL_MAGIC}\n\n`)), { env: {}, stdin: '' });
});

void test('framing errors are ERR_PARSE naming the problem', () => {
  const cases: [string, RegExp][] = [
    ['', /first line ""/],
    ['TRICOLOR-CNI/2\n\n{}', /first line "TRICOLOR-CNI\/2"/],
    [`${AGENT_PROTOCOL_MAGIC}\nCNI_COMMAND=ADD`, /not ended by an empty line/],
    [`${AGENT_PROTOCOL_MAGIC}\nHOME=/root\n\n`, /"HOME=\/root" is not NAME=VALUE/],
    [`${AGENT_PROTOCOL_MAGIC}\nCNI_COMMAND\n\n`, /"CNI_COMMAND" is not NAME=VALUE/],
    [`${AGENT_PROTOCOL_MAGIC}\n=x\n\n`, /"=x" is not NAME=VALUE/],
    [`${AGENT_PROTOCOL_MAGIC}\nPATH=/a\nPATH=/b\n\n`, /PATH is given twice/],
  ];
  for (const [text, re] of cases) {
    assert.throws(
      () => parseAgentRequest(Buffer.from(text)),
      (e: unknown) => isTricolorError(e, 'ERR_PARSE') && re.test(e.message),
      JSON.stringify(text),
    );
  }
  assert.throws(() => parseAgentRequest(Buffer.alloc((1 << 20) + 1, 0x20)), /bytes is more than/);
  assert.throws(() => encodeAgentRequest({ env: { CNI_ARGS: 'a\nb' }, stdin: '' }), /newline/);
});

void test('replies: status then stdout; a greeting alone or a bad status is not a reply', () => {
  assert.deepEqual(parseAgentReply(`${AGENT_PROTOCOL_MAGIC}\n${encodeAgentReply(0, '{"a":1}\n')}`), { status: 0, stdout: '{"a":1}\n' });
  assert.deepEqual(parseAgentReply(`${AGENT_PROTOCOL_MAGIC}\n${encodeAgentReply(1, '')}`), { status: 1, stdout: '' });
  assert.equal(parseAgentReply(`${AGENT_PROTOCOL_MAGIC}\n`), undefined);
  assert.equal(parseAgentReply(`${AGENT_PROTOCOL_MAGIC}\nx\n`), undefined);
  assert.equal(parseAgentReply(''), undefined);
});

// SPDX-License-Identifier: GPL-2.0
/* Tricolor eBPF dataplane: the tc programs attached to workload interfaces (host side of the
 * cali* veth). `tc/from_wep` runs on tc ingress (packets leaving the pod: the pod's egress
 * policy, service DNAT, conntrack creation); `tc/to_wep` runs on tc egress (packets entering the
 * pod: its ingress policy, un-DNAT of service replies).
 *
 * Policy is data, not code: the agent writes each policy as a block of interpreter ops in the
 * rules array and points each interface at a small per-endpoint program (tiers, calls into the
 * policy blocks, end-of-tier deny, profiles, final deny). Changing a policy is map writes only;
 * the interpreter runs on a flow's first packet, later packets hit conntrack.
 * Design note: docs/design/bpf.md. Map layouts: tricolor.h. */

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "tricolor.h"

char LICENSE[] SEC("license") = "GPL";

/* Map names carry the layout version (max 15 characters: the kernel's object name limit). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ct_key);
	__type(value, struct ct_val);
} tri1_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct if_val);
} tri1_ifs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 262144);
	__type(key, __u32);
	__type(value, struct rule_op);
} tri1_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct pol_val);
} tri1_pol SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1048576);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct set_key);
	__type(value, __u32);
} tri1_sets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ipport_key);
	__type(value, __u32);
} tri1_ipport SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct nat_fe_key);
	__type(value, struct nat_fe_val);
} tri1_nat_fe SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct nat_be_key);
	__type(value, struct nat_be_val);
} tri1_nat_be SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct nat_aff_key);
	__type(value, struct nat_aff_val);
} tri1_nat_aff SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cfg_val);
} tri1_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} tri1_ctr SEC(".maps");

/* The interpreter may take at most this many steps per packet; running out denies. */
#define MAX_STEPS 65536

#define V_NONE 0
#define V_ALLOW 1
#define V_DENY 2
#define V_BAD 3

static __always_inline void count(__u32 reason)
{
	__u64 *v = bpf_map_lookup_elem(&tri1_ctr, &reason);
	if (v)
		*v += 1;
}

struct tuple {
	__u32 saddr;
	__u32 daddr;
	__u16 sport; /* network order */
	__u16 dport;
	__u8 proto;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 has_ports;
	__u8 tcp_flags;
};

struct eval_ctx {
	__u32 saddr;
	__u32 daddr;
	__u16 sport; /* host order */
	__u16 dport;
	__u8 proto;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 has_ports;
	__u32 pc;
	__u32 ret_ok;
	__u32 ret_pass;
	__u32 in_call;
	__u32 verdict;
};

static __always_inline int in_set(__u32 set, __u32 addr)
{
	struct set_key k = { .prefixlen = 64, .set = set, .addr = addr };
	return bpf_map_lookup_elem(&tri1_sets, &k) != NULL;
}

static __always_inline int in_ipport(__u32 set, __u32 addr, __u8 proto, __u16 port)
{
	struct ipport_key k = { .set = set, .addr = addr, .port = port, .proto = proto };
	return bpf_map_lookup_elem(&tri1_ipport, &k) != NULL;
}

/* One interpreter step (a bpf_loop callback): returns 1 to stop. */
static long step(__u32 i, void *data)
{
	struct eval_ctx *c = data;
	__u32 pc = c->pc;
	struct rule_op *op = bpf_map_lookup_elem(&tri1_rules, &pc);
	int m;

	if (!op) {
		c->verdict = V_BAD;
		return 1;
	}
	switch (op->code) {
	case OP_ALLOW:
		c->verdict = V_ALLOW;
		return 1;
	case OP_DENY:
		c->verdict = V_DENY;
		return 1;
	case OP_LOG:
		count(C_LOG);
		c->pc = op->ok;
		return 0;
	case OP_GOTO:
		c->pc = op->ok;
		return 0;
	case OP_PROTO:
		m = c->proto == op->a;
		break;
	case OP_SRC_NET:
		m = (c->saddr & op->b) == op->a;
		break;
	case OP_DST_NET:
		m = (c->daddr & op->b) == op->a;
		break;
	case OP_SRC_SET:
		m = in_set(op->a, c->saddr);
		break;
	case OP_DST_SET:
		m = in_set(op->a, c->daddr);
		break;
	case OP_SRC_PORT:
		m = c->has_ports && c->sport >= op->a && c->sport <= op->b;
		break;
	case OP_DST_PORT:
		m = c->has_ports && c->dport >= op->a && c->dport <= op->b;
		break;
	case OP_SRC_NAMED:
		m = c->has_ports && in_ipport(op->a, c->saddr, c->proto, c->sport);
		break;
	case OP_DST_NAMED:
		m = c->has_ports && in_ipport(op->a, c->daddr, c->proto, c->dport);
		break;
	case OP_ICMP:
		m = c->proto == IPPROTO_ICMP && c->icmp_type == op->a && (op->b == 0xffff || c->icmp_code == op->b);
		break;
	case OP_CALL: {
		__u32 slot = op->a;
		struct pol_val *p;
		if (c->in_call) {
			c->verdict = V_BAD;
			return 1;
		}
		p = bpf_map_lookup_elem(&tri1_pol, &slot);
		if (!p) {
			/* A policy the endpoint needs is not (yet) programmed: fail closed. */
			c->verdict = V_DENY;
			return 1;
		}
		c->in_call = 1;
		c->ret_ok = op->ok;
		c->ret_pass = op->fail;
		c->pc = p->base;
		return 0;
	}
	case OP_RET:
		if (!c->in_call) {
			c->verdict = V_BAD;
			return 1;
		}
		c->in_call = 0;
		c->pc = c->ret_ok;
		return 0;
	case OP_PASS:
		if (!c->in_call) {
			c->verdict = V_BAD;
			return 1;
		}
		c->in_call = 0;
		c->pc = c->ret_pass;
		return 0;
	default:
		c->verdict = V_BAD;
		return 1;
	}
	c->pc = m ? op->ok : op->fail;
	return 0;
}

/* Run the endpoint program starting at `base`: 1 = allowed. A global function, so the verifier
 * checks it once rather than at every call site. `ports` = sport << 16 | dport (host order);
 * `meta` = proto | icmp_type << 8 | icmp_code << 16 | has_ports << 24. */
__noinline int tri_run_policy(__u32 saddr, __u32 daddr, __u32 ports, __u32 meta, __u32 base)
{
	struct eval_ctx c = {
		.saddr = saddr,
		.daddr = daddr,
		.sport = ports >> 16,
		.dport = ports & 0xffff,
		.proto = meta & 0xff,
		.icmp_type = (meta >> 8) & 0xff,
		.icmp_code = (meta >> 16) & 0xff,
		.has_ports = (meta >> 24) & 0xff,
		.pc = base,
	};

	if (base == POL_NONE) {
		count(C_DENIED_POLICY);
		return 0;
	}
	bpf_loop(MAX_STEPS, step, &c, 0);
	if (c.verdict == V_ALLOW) {
		count(C_ALLOWED_POLICY);
		return 1;
	}
	if (c.verdict == V_NONE)
		count(C_STEP_LIMIT);
	else if (c.verdict == V_BAD)
		count(C_BAD_RULE);
	count(C_DENIED_POLICY);
	return 0;
}

static __always_inline int run_policy(const struct tuple *t, __u32 base)
{
	__u32 ports = ((__u32)bpf_ntohs(t->sport) << 16) | bpf_ntohs(t->dport);
	__u32 meta = t->proto | ((__u32)t->icmp_type << 8) | ((__u32)t->icmp_code << 16) | ((__u32)t->has_ports << 24);
	return tri_run_policy(t->saddr, t->daddr, ports, meta, base);
}

/* Key of the flow; *src_is_a says which side the packet's source is. */
static __always_inline struct ct_key ct_key_of(__u32 s, __u32 d, __u16 sp, __u16 dp, __u8 proto, int *src_is_a)
{
	struct ct_key k = { .proto = proto };
	int a = s < d || (s == d && sp <= dp);
	if (a) {
		k.a = s;
		k.b = d;
		k.pa = sp;
		k.pb = dp;
	} else {
		k.a = d;
		k.b = s;
		k.pa = dp;
		k.pb = sp;
	}
	*src_is_a = a;
	return k;
}

static __always_inline __u64 secs(__u32 s, __u32 dflt)
{
	return (__u64)(s ? s : dflt) * 1000000000ull;
}

/* Idle timeout of an entry (Calico's bpfConntrackTimeouts defaults when the config is zero). */
static __noinline __u64 ct_timeout(__u32 flags, __u32 proto)
{
	__u32 zero = 0;
	struct cfg_val dflt = {};
	struct cfg_val *cfg = bpf_map_lookup_elem(&tri1_cfg, &zero);
	if (!cfg)
		cfg = &dflt;
	switch (proto) {
	case IPPROTO_TCP:
		if (flags & CT_F_RST)
			return secs(cfg->tcp_reset_seen, 40);
		if ((flags & (CT_F_FIN_FWD | CT_F_FIN_REV)) == (CT_F_FIN_FWD | CT_F_FIN_REV))
			return secs(cfg->tcp_fins_seen, 120);
		if (flags & CT_F_REPLY_SEEN)
			return secs(cfg->tcp_established, 3600);
		return secs(cfg->tcp_syn_sent, 20);
	case IPPROTO_UDP:
		return secs(cfg->udp, 60);
	case IPPROTO_ICMP:
		return secs(cfg->icmp, 5);
	default:
		return secs(cfg->generic, 600);
	}
}

/* Look up a live entry; an expired one is deleted and reported as a miss. */
static __always_inline struct ct_val *ct_lookup(struct ct_key *k, __u64 now)
{
	struct ct_val *v = bpf_map_lookup_elem(&tri1_ct, k);
	if (v && now - v->last_seen_ns > ct_timeout(v->flags, k->proto)) {
		count(C_CT_EXPIRED);
		bpf_map_delete_elem(&tri1_ct, k);
		return NULL;
	}
	return v;
}

struct pkt {
	__u32 l4_off;
	__u32 len;
	struct tuple t;
	/* ICMP errors: the embedded packet's tuple (as the original sender sent it). */
	int related;
	struct tuple inner;
};

#define ETH_HLEN_ 14
#define L3_OFF ETH_HLEN_

/* Parse Ethernet/IPv4/L4. Returns PARSE_CONTINUE, or the TC verdict to return at once. */
#define PARSE_CONTINUE (-1)
static __always_inline int parse(struct __sk_buff *skb, struct pkt *p)
{
	void *data, *end;
	struct ethhdr *eth;
	struct iphdr *ip;
	__u32 ihl;

	if (skb->len < ETH_HLEN_ + 20 + 8)
		bpf_skb_pull_data(skb, skb->len);
	else
		bpf_skb_pull_data(skb, ETH_HLEN_ + 60 + 8 + 28);
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	eth = data;
	if ((void *)(eth + 1) > end) {
		count(C_MALFORMED);
		return TC_ACT_SHOT;
	}
	if (eth->h_proto == bpf_htons(ETH_P_ARP)) {
		count(C_ARP);
		return TC_ACT_OK;
	}
	if (eth->h_proto != bpf_htons(ETH_P_IP)) {
		/* IPv6 and everything else: this dataplane enforces IPv4 only, so fail closed. */
		count(C_NOT_IPV4);
		return TC_ACT_SHOT;
	}
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl < 5) {
		count(C_MALFORMED);
		return TC_ACT_SHOT;
	}
	ihl = ip->ihl * 4;
	if (bpf_ntohs(ip->tot_len) < ihl || (void *)ip + ihl > end) {
		count(C_MALFORMED);
		return TC_ACT_SHOT;
	}
	if (ip->frag_off & bpf_htons(0x1fff)) {
		/* A later fragment has no L4 header to match policy or conntrack on. */
		count(C_FRAGMENT);
		return TC_ACT_SHOT;
	}
	p->t.saddr = ip->saddr;
	p->t.daddr = ip->daddr;
	p->t.proto = ip->protocol;
	p->l4_off = L3_OFF + ihl;
	p->len = skb->len;

	if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *th = (void *)ip + ihl;
		if ((void *)(th + 1) > end || th->doff < 5) {
			count(C_MALFORMED);
			return TC_ACT_SHOT;
		}
		p->t.sport = th->source;
		p->t.dport = th->dest;
		p->t.has_ports = 1;
		p->t.tcp_flags = ((__u8 *)th)[13];
	} else if (ip->protocol == IPPROTO_UDP || ip->protocol == IPPROTO_SCTP) {
		struct udphdr *uh = (void *)ip + ihl; /* SCTP's ports sit where UDP's do */
		if ((void *)(uh + 1) > end) {
			count(C_MALFORMED);
			return TC_ACT_SHOT;
		}
		p->t.sport = uh->source;
		p->t.dport = uh->dest;
		p->t.has_ports = 1;
	} else if (ip->protocol == IPPROTO_ICMP) {
		struct icmphdr *ih = (void *)ip + ihl;
		if ((void *)(ih + 1) > end) {
			count(C_MALFORMED);
			return TC_ACT_SHOT;
		}
		p->t.icmp_type = ih->type;
		p->t.icmp_code = ih->code;
		if (ih->type == ICMP_ECHO || ih->type == ICMP_ECHOREPLY) {
			/* The echo id names the flow in both directions. */
			p->t.sport = ih->un.echo.id;
			p->t.dport = ih->un.echo.id;
		} else if (ih->type == ICMP_DEST_UNREACH || ih->type == ICMP_TIME_EXCEEDED || ih->type == ICMP_PARAMETERPROB) {
			struct iphdr *in = (void *)(ih + 1);
			__u16 *ports = (void *)(in + 1);
			if ((void *)(in + 1) <= end && in->ihl == 5 && (void *)(ports + 2) <= end) {
				p->related = 1;
				p->inner.saddr = in->saddr;
				p->inner.daddr = in->daddr;
				p->inner.proto = in->protocol;
				if (in->protocol == IPPROTO_TCP || in->protocol == IPPROTO_UDP || in->protocol == IPPROTO_SCTP) {
					p->inner.sport = ports[0];
					p->inner.dport = ports[1];
				}
			}
		}
	}
	return PARSE_CONTINUE;
}

static __always_inline int csum_off(__u8 proto)
{
	return proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : -1;
}

/* Rewrite one address (and port) of the packet with checksum fix-ups. `dst` selects daddr/dport. */
static __always_inline int rewrite(struct __sk_buff *skb, struct pkt *p, int dst, __u32 old_ip, __u32 new_ip, __u16 old_port, __u16 new_port)
{
	int co = csum_off(p->t.proto);
	__u32 ip_off = L3_OFF + (dst ? 16 : 12);
	__u32 port_off = p->l4_off + (dst ? 2 : 0);
	__u64 mangled = p->t.proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;

	if (co < 0)
		return -1;
	if (bpf_l4_csum_replace(skb, p->l4_off + co, old_ip, new_ip, BPF_F_PSEUDO_HDR | 4 | mangled))
		return -1;
	if (old_port != new_port && bpf_l4_csum_replace(skb, p->l4_off + co, old_port, new_port, 2 | mangled))
		return -1;
	if (bpf_l3_csum_replace(skb, L3_OFF + 10, old_ip, new_ip, 4))
		return -1;
	if (bpf_skb_store_bytes(skb, ip_off, &new_ip, 4, 0))
		return -1;
	if (old_port != new_port && bpf_skb_store_bytes(skb, port_off, &new_port, 2, 0))
		return -1;
	return 0;
}

/* Service frontend hit: choose a backend (affinity first). 0 = ok, -1 = no backend. */
static __always_inline int pick_backend(struct tuple *t, struct nat_fe_val *fe, __u64 now, __u32 *ip, __u16 *port)
{
	struct nat_aff_key ak = { .addr = t->daddr, .port = t->dport, .proto = t->proto, .client = t->saddr };
	struct nat_be_key bk = { .svc = fe->svc };
	struct nat_be_val *be;

	if (fe->count == 0)
		return -1;
	if (fe->affinity_secs) {
		struct nat_aff_val *av = bpf_map_lookup_elem(&tri1_nat_aff, &ak);
		if (av && now - av->ts_ns < (__u64)fe->affinity_secs * 1000000000ull) {
			*ip = av->addr;
			*port = av->port;
			return 0;
		}
	}
	bk.ordinal = bpf_get_prandom_u32() % fe->count;
	be = bpf_map_lookup_elem(&tri1_nat_be, &bk);
	if (!be)
		return -1;
	*ip = be->addr;
	*port = be->port;
	if (fe->affinity_secs) {
		struct nat_aff_val nv = { .ts_ns = now, .addr = be->addr, .port = be->port };
		bpf_map_update_elem(&tri1_nat_aff, &ak, &nv, BPF_ANY);
	}
	return 0;
}

/* An ICMP error about a flow we track passes when the flow's leg on this hook is approved. */
static __always_inline int related_ok(struct pkt *p, int from_ep, __u64 now)
{
	int inner_src_is_a;
	struct ct_key k = ct_key_of(p->inner.saddr, p->inner.daddr, p->inner.sport, p->inner.dport, p->inner.proto, &inner_src_is_a);
	struct ct_val *v = ct_lookup(&k, now);
	if (!v || v->type != CT_TYPE_NORMAL)
		return 0;
	/* The error travels against the embedded packet: from its destination towards its source. */
	int inner_fwd = ((v->flags & CT_F_OPENER_A) != 0) == inner_src_is_a;
	__u32 leg = from_ep ? (inner_fwd ? CT_F_LEG_DST : CT_F_LEG_SRC) : (inner_fwd ? CT_F_LEG_SRC : CT_F_LEG_DST);
	return (v->flags & leg) != 0;
}

/* Global: verified once for both hooks (the hook is a run-time argument). */
__noinline int tri_handle(struct __sk_buff *skb, int from_ep)
{
	struct pkt p = {};
	struct if_val *ifv;
	__u32 ifindex = skb->ifindex;
	__u64 now = bpf_ktime_get_ns();
	int r, src_is_a, fwd, syn;
	struct ct_key key;
	struct ct_val *v;
	__u32 orig_ip = 0, nat_ip = 0;
	__u16 orig_port = 0, nat_port = 0;
	int dnat = 0, nat_new = 0;

	count(C_PACKETS);
	r = parse(skb, &p);
	if (r != PARSE_CONTINUE)
		return r;
	ifv = bpf_map_lookup_elem(&tri1_ifs, &ifindex);
	if (!ifv) {
		/* A program on an interface the agent has not (or no longer) configured: fail closed. */
		count(C_UNKNOWN_IFACE);
		return TC_ACT_SHOT;
	}

	if (p.related && related_ok(&p, from_ep, now)) {
		count(C_RELATED);
		return TC_ACT_OK;
	}

	/* Service DNAT happens where the client's packets enter: its own interface. */
	if (from_ep && p.t.has_ports) {
		struct ct_key fk = ct_key_of(p.t.saddr, p.t.daddr, p.t.sport, p.t.dport, p.t.proto, &src_is_a);
		struct ct_val *fv = ct_lookup(&fk, now);
		if (fv && fv->type == CT_TYPE_NAT_FWD) {
			nat_ip = fv->nat_ip;
			nat_port = fv->nat_port;
			fv->last_seen_ns = now;
			dnat = 1;
		} else if (!fv) {
			struct nat_fe_key fek = { .addr = p.t.daddr, .port = p.t.dport, .proto = p.t.proto };
			struct nat_fe_val *fe = bpf_map_lookup_elem(&tri1_nat_fe, &fek);
			if (fe) {
				count(C_NAT_HIT);
				if (pick_backend(&p.t, fe, now, &nat_ip, &nat_port)) {
					count(C_NAT_NO_BACKEND);
					return TC_ACT_SHOT;
				}
				dnat = 1;
				nat_new = 1;
			}
		}
		if (dnat) {
			orig_ip = p.t.daddr;
			orig_port = p.t.dport;
			p.t.daddr = nat_ip;
			p.t.dport = nat_port;
		}
	}

	key = ct_key_of(p.t.saddr, p.t.daddr, p.t.sport, p.t.dport, p.t.proto, &src_is_a);
	v = ct_lookup(&key, now);
	syn = p.t.proto == IPPROTO_TCP && (p.t.tcp_flags & 0x12) == 0x02;
	fwd = v ? (((v->flags & CT_F_OPENER_A) != 0) == src_is_a) : 1;
	if (v && v->type != CT_TYPE_NORMAL)
		v = NULL; /* a NAT stub addressed directly: not a flow of its own */

	if (v && syn && !fwd)
		v = NULL; /* a SYN against the flow's direction opens a new flow with the roles swapped */

	if (v) {
		__u32 leg = from_ep ? (fwd ? CT_F_LEG_SRC : CT_F_LEG_DST) : (fwd ? CT_F_LEG_DST : CT_F_LEG_SRC);
		if (syn) {
			/* Every SYN re-checks policy, as in Calico: a reused tuple meets today's policy. */
			if (!run_policy(&p.t, from_ep ? ifv->egress : ifv->ingress)) {
				__sync_fetch_and_and(&v->flags, ~leg);
				return TC_ACT_SHOT;
			}
			if (from_ep) /* the opener starts over: the destination's hook approves again */
				__sync_fetch_and_and(&v->flags, ~(CT_F_LEG_DST | CT_F_REPLY_SEEN | CT_F_FIN_FWD | CT_F_FIN_REV | CT_F_RST));
			__sync_fetch_and_or(&v->flags, leg);
		} else if (!(v->flags & leg)) {
			if (!fwd) {
				count(C_REVERSE_UNAPPROVED);
				return TC_ACT_SHOT;
			}
			if (!run_policy(&p.t, from_ep ? ifv->egress : ifv->ingress))
				return TC_ACT_SHOT;
			__sync_fetch_and_or(&v->flags, leg);
		} else {
			count(C_ESTABLISHED);
		}
		v->last_seen_ns = now;
		v->packets += 1;
		v->bytes += p.len;
		if (!fwd && !(v->flags & CT_F_REPLY_SEEN))
			__sync_fetch_and_or(&v->flags, CT_F_REPLY_SEEN);
		if (p.t.tcp_flags & 0x01)
			__sync_fetch_and_or(&v->flags, fwd ? CT_F_FIN_FWD : CT_F_FIN_REV);
		if (p.t.tcp_flags & 0x04)
			__sync_fetch_and_or(&v->flags, CT_F_RST);
		if (!from_ep && !fwd && (v->flags & CT_F_NAT)) {
			count(C_NAT_REV);
			if (rewrite(skb, &p, 0, p.t.saddr, v->nat_ip, p.t.sport, v->nat_port))
				return TC_ACT_SHOT;
		}
	} else {
		/* New flow. */
		struct ct_val nv = { .created_ns = now, .last_seen_ns = now, .packets = 1, .bytes = p.len };
		if (!run_policy(&p.t, from_ep ? ifv->egress : ifv->ingress))
			return TC_ACT_SHOT;
		nv.flags = (src_is_a ? CT_F_OPENER_A : 0) | CT_F_LEG_SRC;
		/* On the destination's hook, a source with no hook of ours on this node is approved. */
		if (!from_ep)
			nv.flags |= CT_F_LEG_DST;
		if (dnat) {
			nv.flags |= CT_F_NAT;
			nv.nat_ip = orig_ip;
			nv.nat_port = orig_port;
		}
		if (bpf_map_update_elem(&tri1_ct, &key, &nv, BPF_ANY)) {
			count(C_CT_FULL);
			return TC_ACT_SHOT;
		}
		if (nat_new) {
			int pre_src_is_a;
			struct ct_key fk = ct_key_of(p.t.saddr, orig_ip, p.t.sport, orig_port, p.t.proto, &pre_src_is_a);
			struct ct_val fv = { .created_ns = now, .last_seen_ns = now, .type = CT_TYPE_NAT_FWD, .nat_ip = nat_ip, .nat_port = nat_port };
			fv.flags = pre_src_is_a ? CT_F_OPENER_A : 0;
			if (bpf_map_update_elem(&tri1_ct, &fk, &fv, BPF_ANY)) {
				count(C_CT_FULL);
				bpf_map_delete_elem(&tri1_ct, &key);
				return TC_ACT_SHOT;
			}
		}
	}
	if (dnat && rewrite(skb, &p, 1, orig_ip, nat_ip, orig_port, nat_port))
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

SEC("tc/from_wep")
int tri_from_wep(struct __sk_buff *skb)
{
#ifdef TRI_VERIFIER_REJECT
	/* Tests only (bpf-agent-faults): a packet read with no bounds check, which the verifier
	 * must refuse, so an agent given this object keeps its last good programs. */
	if (*(volatile __u8 *)(long)skb->data == 0xff)
		return TC_ACT_SHOT;
#endif
	return tri_handle(skb, 1);
}

SEC("tc/to_wep")
int tri_to_wep(struct __sk_buff *skb)
{
	return tri_handle(skb, 0);
}

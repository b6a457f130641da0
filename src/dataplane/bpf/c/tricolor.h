/* Tricolor eBPF dataplane: map layouts shared by the programs and (by hand) the TypeScript
 * encoders in src/dataplane/bpf/encoding.ts. Every layout change bumps TRI_LAYOUT, which is part
 * of each map's name, so a new agent never reads an old layout (docs/design/bpf.md). */
#ifndef TRICOLOR_H
#define TRICOLOR_H

#include <linux/types.h>

#define TRI_LAYOUT 1

/* ---- conntrack ---------------------------------------------------------------------------- */

/* One key serves both directions: (a, pa) is the lexically smaller endpoint of the flow. */
struct ct_key {
	__u32 a;
	__u32 b;
	__u16 pa;
	__u16 pb;
	__u8 proto;
	__u8 pad[3];
};

#define CT_TYPE_NORMAL 0
#define CT_TYPE_NAT_FWD 1 /* keyed on the pre-DNAT tuple; holds the chosen backend */

#define CT_F_OPENER_A (1u << 0) /* the flow's first packet came from a */
#define CT_F_LEG_SRC (1u << 1)	/* the opener's side approved (its egress, or not local) */
#define CT_F_LEG_DST (1u << 2)	/* the responder's side approved (its ingress, or not local) */
#define CT_F_REPLY_SEEN (1u << 3)
#define CT_F_FIN_FWD (1u << 4)
#define CT_F_FIN_REV (1u << 5)
#define CT_F_RST (1u << 6)
#define CT_F_NAT (1u << 7) /* the opener addressed a service: un-DNAT replies to it */

struct ct_val {
	__u64 created_ns;
	__u64 last_seen_ns;
	__u32 flags;
	__u8 type;
	__u8 pad[3];
	/* NORMAL with CT_F_NAT: the service address the opener used. NAT_FWD: the backend. */
	__u32 nat_ip;
	__u16 nat_port;
	__u16 pad2;
	__u64 packets;
	__u64 bytes;
};

/* ---- interfaces and policy ---------------------------------------------------------------- */

#define POL_NONE 0xffffffffu

#define IF_F_WORKLOAD (1u << 0)
#define IF_F_HOST (1u << 1)

/* ifindex → what this interface is and where its policy programs start. */
struct if_val {
	__u32 flags;
	__u32 ingress; /* rule index of the to-endpoint program (POL_NONE: deny all) */
	__u32 egress;  /* rule index of the from-endpoint program */
	__u32 ingress_len; /* program lengths: the agent's record of which rule regions are live */
	__u32 egress_len;
	__u32 id;	   /* the agent's endpoint number (for dumps) */
};

/* One interpreter instruction. Every test op jumps to `ok` on match and `fail` otherwise. */
struct rule_op {
	__u8 code;
	__u8 flags;
	__u16 pad;
	__u32 ok;
	__u32 fail;
	__u32 a;
	__u32 b;
	__u32 c;
};

enum {
	OP_INVALID = 0,
	OP_ALLOW = 1,	 /* verdict: allow */
	OP_DENY = 2,	 /* verdict: deny */
	OP_LOG = 3,	 /* count a log hit, goto ok */
	OP_PROTO = 4,	 /* a = protocol */
	OP_SRC_NET = 5,	 /* (saddr & b) == a (network byte order) */
	OP_DST_NET = 6,
	OP_SRC_SET = 7,	 /* a = IP set id: saddr in the set */
	OP_DST_SET = 8,
	OP_SRC_PORT = 9, /* a <= sport <= b (host order), only for tcp/udp/sctp */
	OP_DST_PORT = 10,
	OP_SRC_NAMED = 11, /* a = set id: (saddr, proto, sport) in the ip-port set */
	OP_DST_NAMED = 12,
	OP_ICMP = 13,	 /* a = type, b = code (0xffff: any), only for icmp */
	OP_CALL = 14,	 /* a = policy slot; returns to ok; a Pass inside goes to fail */
	OP_RET = 15,	 /* end of a policy block: no verdict */
	OP_PASS = 16,	 /* verdict of a policy rule: pass to the caller's fail target */
	OP_GOTO = 17,	 /* goto ok */
	OP_MAX = 18,
};

/* Policy slot → start of that policy's block in the rules array (a hash: updates are atomic). */
struct pol_val {
	__u32 base;
	__u32 len;
};

/* IP sets: an LPM trie over (set id, address). prefixlen = 32 + the member's prefix length. */
struct set_key {
	__u32 prefixlen;
	__u32 set;
	__u32 addr;
};

/* Named-port members: exact (set, address, protocol, port). */
struct ipport_key {
	__u32 set;
	__u32 addr;
	__u16 port;
	__u8 proto;
	__u8 pad;
};

/* ---- services ----------------------------------------------------------------------------- */

struct nat_fe_key {
	__u32 addr;
	__u16 port; /* network order */
	__u8 proto;
	__u8 pad;
};

struct nat_fe_val {
	__u32 svc;
	__u32 count;	     /* backends: ordinals 0..count-1 */
	__u32 affinity_secs; /* ClientIP session affinity timeout, 0 = none */
	__u32 flags;
};

struct nat_be_key {
	__u32 svc;
	__u32 ordinal;
};

struct nat_be_val {
	__u32 addr;
	__u16 port; /* network order */
	__u16 pad;
};

struct nat_aff_key {
	__u32 addr;
	__u16 port;
	__u8 proto;
	__u8 pad;
	__u32 client;
};

struct nat_aff_val {
	__u64 ts_ns;
	__u32 addr;
	__u16 port;
	__u16 pad;
};

/* ---- node configuration ------------------------------------------------------------------- */

/* Conntrack idle timeouts in seconds (FelixConfiguration bpfConntrackTimeouts). */
struct cfg_val {
	__u32 tcp_syn_sent;
	__u32 tcp_established;
	__u32 tcp_fins_seen;
	__u32 tcp_reset_seen;
	__u32 udp;
	__u32 generic;
	__u32 icmp;
	__u32 flags;
};

/* ---- counters (per-CPU array index) ------------------------------------------------------- */

enum {
	C_PACKETS = 0,
	C_ALLOWED_POLICY = 1,
	C_DENIED_POLICY = 2,
	C_ESTABLISHED = 3,
	C_UNKNOWN_IFACE = 4,
	C_MALFORMED = 5,
	C_CT_FULL = 6,
	C_NAT_HIT = 7,
	C_NAT_NO_BACKEND = 8,
	C_NOT_IPV4 = 9,
	C_ARP = 10,
	C_FRAGMENT = 11,
	C_STEP_LIMIT = 12,
	C_REVERSE_UNAPPROVED = 13,
	C_LOG = 14,
	C_BAD_RULE = 15,
	C_RELATED = 16,
	C_NAT_REV = 17,
	C_CT_EXPIRED = 18,
	C_MAX = 32,
};

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tunstack_hooks.h - lwIP hooks (LWIP_HOOK_FILENAME); included by lwIP's C files after their
 * own headers, so lwIP's types are known here.
 */
#ifndef TUNSTACK_HOOKS_H
#define TUNSTACK_HOOKS_H

#ifdef __cplusplus
extern "C" {
#endif
/* Initial sequence numbers per RFC 6528: a clock plus a keyed function of the connection's
 * addresses and ports, so they cannot be predicted from outside (lwIP's default is a counter). */
u32_t tunstack_port_tcp_isn(const ip_addr_t* local_ip, u16_t local_port,
                            const ip_addr_t* remote_ip, u16_t remote_port);
/* Source-based routing (the strong host model): a packet from one of the stack's addresses
 * leaves through the interface that owns that address. lwIP's default picks the interface by
 * destination alone, which is wrong for a stack on several point-to-point links whose subnets
 * overlap, and for a simulation that joins two of its interfaces with one wire. NULL: route by
 * destination as usual. */
struct netif;
struct netif* tunstack_port_route_ip4_src(const ip4_addr_t* src, const ip4_addr_t* dest);
/* Sees every TCP segment lwIP matched to a pcb, before lwIP handles it; ERR_OK lets it go on,
 * anything else drops it (a data segment over the memory ceiling, see stack_options::memory_limit). A super-packet's connection is made to ACK it at once. For a SYN to a listener whose backlog is used up (the half-open
 * connections, at most 255 in lwIP's u8, or 0 while the acceptor's queue is full), the
 * listener may make room (tcp_acceptor.cpp); otherwise lwIP drops the SYN and this counts it. */
struct tcp_pcb;
struct tcp_hdr;
struct pbuf;
err_t tunstack_port_tcp_inpacket(struct tcp_pcb* pcb, struct tcp_hdr* hdr, struct pbuf* p);
#ifdef __cplusplus
}
#endif

#define LWIP_HOOK_TCP_ISN(local_ip, local_port, remote_ip, remote_port) \
  tunstack_port_tcp_isn((local_ip), (local_port), (remote_ip), (remote_port))
#define LWIP_HOOK_TCP_INPACKET_PCB(pcb, hdr, optlen, opt1len, opt2, p) tunstack_port_tcp_inpacket((pcb), (hdr), (p))

#endif /* TUNSTACK_HOOKS_H */

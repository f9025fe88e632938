/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lwipopts.h - tunstack's configuration of lwIP 2.1.3.
 *
 * lwIP runs inside one process as the TCP/IP stack behind a TUN device (layer 3, no Ethernet),
 * driven by one Asio event loop thread (NO_SYS=1: no lwIP threads, no locks) through the raw
 * API only. Every option below says why it has its value; options not named keep lwIP's
 * defaults from lwip/opt.h. The C++ side of the port is sys_arch.cpp and tunstack_port.h.
 */
#ifndef TUNSTACK_LWIPOPTS_H
#define TUNSTACK_LWIPOPTS_H

/* ---- System: one thread, no OS layer -------------------------------------------------- */

/* The Asio loop is the only thread that touches lwIP; lwIP needs no threads, mutexes or
 * semaphores of its own. */
#define NO_SYS                          1
/* Nothing to protect against: no interrupts, no second thread inside lwIP. */
#define SYS_LIGHTWEIGHT_PROT            0
/* lwIP's own timer list (sys_timeout/sys_check_timeouts), driven by one asio::steady_timer. */
#define LWIP_TIMERS                     1
/* Exposes sys_timeouts_get_next_timeout() so that tunstack::stack can empty the timer list on
 * teardown and run lwip_init() again for the next stack (lwIP has no deinit; tests create one
 * stack per case). It changes nothing else in 2.1.3 (see timeouts.c). */
#define LWIP_TESTMODE                   1

/* Raw API only: the netconn and socket layers need NO_SYS=0 and would add copies and
 * threads; tunstack's own socket API is built on the raw callbacks. */
#define LWIP_NETCONN                    0
#define LWIP_SOCKET                     0
#define LWIP_CALLBACK_API               1

/* Every lwIP entry point checks it runs on the stack's thread (debug builds): the check is a
 * function of the port, answered by tunstack::stack. */
#ifndef NDEBUG
#ifdef __cplusplus
extern "C" void tunstack_port_assert_core_locked(void);
#else
void tunstack_port_assert_core_locked(void);
#endif
#define LWIP_ASSERT_CORE_LOCKED()       tunstack_port_assert_core_locked()
#endif

/* Our C++ files include lwIP's headers and then glibc's <netinet/in.h> (through Asio): lwIP's
 * def.h would turn htonl() & co. into macros for lwip_htonl(), so glibc's declarations
 * (noexcept in C++) would redeclare lwIP's functions, which clang rejects. lwIP's own C files
 * use the lwip_ names and keep the macros. */
#ifdef __cplusplus
#define LWIP_DONT_PROVIDE_BYTEORDER_FUNCTIONS 1
#endif

/* ---- Memory ----------------------------------------------------------------------------- */

/* The heap and all pools come from malloc: idle memory stays small and grows with use instead
 * of reserving worst-case static pools, and a stack can be torn down and initialised again
 * without stale pool state. Limits are set per connection (windows, queues) instead. */
#define MEM_LIBC_MALLOC                 1
#define MEMP_MEM_MALLOC                 1
/* x86-64 and friends: 8-byte alignment keeps u64 accesses in pbuf payloads cheap. */
#define MEM_ALIGNMENT                   8
/* One pool pbuf holds one 1500-byte packet plus headroom, so a packet read from a TUN device
 * at the default MTU fits one pbuf; larger MTUs read into a chain of them. */
#define PBUF_POOL_BUFSIZE               1600
/* A TUN device carries bare IP packets: no link-layer header to reserve room for. */
#define PBUF_LINK_HLEN                  0
/* With MEMP_MEM_MALLOC the MEMP_NUM_* pool sizes are not enforced, so none are set here. */

/* ---- Link layer ---------------------------------------------------------------------------- */

/* TUN links are point-to-point layer 3: no ARP, no Ethernet framing. */
#define LWIP_ARP                        0
#define LWIP_ETHERNET                   0
/* Several interfaces may be added (e.g. a TUN device and an in-memory link in tests). */
#define LWIP_SINGLE_NETIF               0
/* Interface counters come from the link adapter, not from lwIP's optional MIB2 callbacks. */
#define LWIP_NETIF_STATUS_CALLBACK      0
#define LWIP_NETIF_LINK_CALLBACK        0
/* The netif's 2-char name + number are used in lwIP debug output only. */
#define LWIP_NETIF_HOSTNAME             0
/* No loopback netif: traffic to our own address never leaves lwIP as packets anyway. */
#define LWIP_HAVE_LOOPIF                0
#define LWIP_NETIF_LOOPBACK             0

/* ---- IPv4 ------------------------------------------------------------------------------------- */

#define LWIP_IPV4                       1
/* The kernel fragments large datagrams (ping -s 4000, big UDP); reassemble them. */
#define IP_REASSEMBLY                   1
#define IP_FRAG                         1
/* Up to one 64 KiB datagram in flight at the default MTU (45 fragments), with headroom. */
#define IP_REASS_MAX_PBUFS              64
/* tunstack terminates IP; it is not a router. */
#define IP_FORWARD                      0
/* ICMP echo is answered by lwIP itself: `ping 10.0.3.50` needs no application code. */
#define LWIP_ICMP                       1
/* Broadcast/multicast pings are not answered, as Linux does by default. */
#define LWIP_BROADCAST_PING             0
#define LWIP_MULTICAST_PING             0
/* No DHCP/AutoIP/IGMP: addresses are configured explicitly on a point-to-point link. */
#define LWIP_DHCP                       0
#define LWIP_AUTOIP                     0
#define LWIP_IGMP                       0
/* Raw IP pcbs are not part of tunstack's API. */
#define LWIP_RAW                        0
#define LWIP_DNS                        0

/* ---- IPv6 ------------------------------------------------------------------------------------- */

/* Dual stack: the interface may carry IPv6 addresses; ICMPv6 echo is answered by lwIP. */
#define LWIP_IPV6                       1
#define LWIP_ICMP6                      1
#define LWIP_IPV6_REASS                 1
#define LWIP_IPV6_FRAG                  1
/* On 64-bit hosts lwIP's reassembly bookkeeping (with a pointer) does not fit in the 8-byte
 * fragment header it would overlay, so it copies the header aside instead (lwIP asserts this). */
#define IPV6_FRAG_COPYHEADER            1
/* Addresses are configured explicitly; a TUN link has no routers to solicit and no link-layer
 * address to derive an interface identifier from. */
#define LWIP_IPV6_AUTOCONFIG            0
#define LWIP_IPV6_SEND_ROUTER_SOLICIT   0
/* No multicast listener reports on a point-to-point link. */
#define LWIP_IPV6_MLD                   0
/* Duplicate address detection needs multicast neighbour solicitation, which a TUN link does
 * not carry (the kernel marks TUN devices NOARP); addresses are valid immediately. */
#define LWIP_IPV6_DUP_DETECT_ATTEMPTS   0
#define LWIP_IPV6_DHCP6                 0
/* Room for a link-local address plus a few configured ones. */
#define LWIP_IPV6_NUM_ADDRESSES         4
/* Echo back the whole offending packet in ICMPv6 errors, as far as the MTU allows. */
#define LWIP_ICMP6_DATASIZE             0

/* ---- TCP ---------------------------------------------------------------------------------------- */

#define LWIP_TCP                        1
/* TCP's timers: the fast one (delayed ACKs, deferred output) every TCP_TMR_INTERVAL ms, the slow
 * one (retransmission timeouts, persist, keep-alive, TIME-WAIT) every 2 * TCP_TMR_INTERVAL ms.
 * A retransmission timeout fires on a slow tick, so the slow interval is its granularity: with
 * 50 ms an RTO of 200 ms fires 200-250 ms after the segment left (lwIP's default, 500 ms, made
 * it 200 ms-1 s). Delayed ACKs wait at most 25 ms (Linux: 40 ms and more). The timers run only
 * while connections exist; each tick walks the connections (about 1 us per 100 of them). */
#define TCP_TMR_INTERVAL                25
/* RFC 6298 RTO (patch 0002): the first RTO is 1 s (RFC 6298 (2.1)); the floor is Linux's
 * 200 ms instead of the RFC's 1 s, because a tail loss costs an RTO and a local link's round
 * trip is microseconds (RFC 6298 (2.4) allows it: "a lower minimum ... MAY be used"). */
#define TCP_RTO_INITIAL_MS              1000
#define TCP_RTO_MIN_MS                  200
#define TCP_RTO_MAX_MS                  60000
/* The MSS lwIP may use; the effective MSS is derived per connection from the interface MTU
 * (TCP_CALCULATE_EFF_SEND_MSS), so this is the ceiling for MTUs up to 65535. */
#define TCP_MSS                         65495
#define TCP_CALCULATE_EFF_SEND_MSS      1
/* Window scaling (RFC 7323) with a large window for a fast local link: 1 MiB, scale 5
 * (0xFFFF << 5 = 2 MiB max). Received data is acknowledged only as the application consumes
 * it, so the window is also the bound on buffered input per connection. */
#define LWIP_WND_SCALE                  1
#define TCP_RCV_SCALE                   5
#define TCP_WND                         (1024 * 1024)
/* Send buffer per connection: what tcp_write() accepts before it waits for ACKs. */
#define TCP_SND_BUF                     (1024 * 1024)
/* Enough queued segments to fill TCP_SND_BUF with 1460-byte segments plus headroom. */
#define TCP_SND_QUEUELEN                2048
/* The large TCP_MSS above makes lwIP's static sanity checks (written for 16-bit windows and
 * small MSS values) overflow; the relations they guard are kept by hand: TCP_SND_BUF >=
 * 2 * effective MSS, TCP_SND_QUEUELEN >= 2 * TCP_SND_BUF / 1460, TCP_WND >= 2 * MSS. */
#define LWIP_DISABLE_TCP_SANITY_CHECKS  1
/* RFC 7323 timestamps: better RTT measurement and PAWS on long fast transfers. */
#define LWIP_TCP_TIMESTAMPS             1
/* Queue out-of-order segments instead of dropping them (loss recovery without go-back-N). */
#define TCP_QUEUE_OOSEQ                 1
/* Advertise SACK (RFC 2018) so the peer retransmits only what is missing, and use the peer's
 * SACKs (patch 0003): loss recovery per RFC 6675 with RACK loss detection (RFC 8985), so two
 * losses in one window, a lost retransmission or a loss on a connection that carries data both
 * ways cost no retransmission timeout. Without SACK from the peer: NewReno (RFC 6582). */
#define LWIP_TCP_SACK_OUT               1
#define LWIP_TCP_SACK_IN                1
#define LWIP_TCP_MAX_SACK_NUM           4
/* Tail loss probes (patch 0004, RFC 8985 7): a segment lost at the end of a flight, or the ACKs
 * of it, is probed for after 2 * SRTT instead of waiting for the RTO. With one segment in flight
 * the probe waits another TCP_TLP_WCDELACK_MS for the peer's delayed ACK: RFC 8985 recommends
 * 200 ms, which would make the probe no faster than the 200 ms RTO; Linux delays ACKs by 40 ms
 * at least, and a request/response peer answers at once with the ACK on its next request, so
 * 50 ms it is. A peer that does delay its ACK longer gets a spurious probe: one duplicate
 * segment, reported by D-SACK, and cwnd stays. The probe is the last segment again, not new
 * data (patch 0016): a receiver acknowledges a duplicate, or the two segments it holds once the
 * probe filled the hole at the end, at once, but may hold its ACK of one new segment for its
 * delayed-ACK timer. Over veth with 1% loss each way, full-duplex echo against Linux, probes
 * fired within a millisecond: 40-45 MB/s with new-data probes, about 115 with these. Probes and RACK's reordering timer fire when due,
 * to the millisecond (patch 0015, LWIP_TCP_FINE_TIMER, on by default with TLP), not on the next
 * 25 ms fast tick: with a round trip of 0.1 ms a probe is due after 0.2 ms. */
#define LWIP_TCP_TLP                    1
#define TCP_TLP_WCDELACK_MS             50
#define TCP_TLP_NEW_DATA                0
/* A segment finds its connection in a hash table (patch 0012) instead of lwIP's walk of all of
 * them: with 10,000 connections each segment cost a walk of 10,000 pcbs, and 20,000 stray ones
 * delayed pings by seconds. 16,384 buckets (128 KiB) keep chains short up to tens of thousands. */
#define TCP_PCB_HASH_SIZE               16384
/* SYN cookies (patch 0013, RFC 4987): a SYN that finds a listener's half-open connections at its
 * backlog gets a cookie instead of being dropped, so 10,000 spoofed SYNs lock nobody out (they
 * did for 20-30 s, until lwIP's SYN-RECEIVED timeout). Cookie connections have no window
 * scaling, SACK or timestamps: only while the backlog is full. */
#define LWIP_TCP_SYNCOOKIES             1
/* Listen backlog is enforced, so connections beyond it are refused as the kernel does. */
#define TCP_LISTEN_BACKLOG              1
#define TCP_DEFAULT_LISTEN_BACKLOG      0xff
/* SO_REUSEADDR for listeners, so a restarted server can bind a port with TIME-WAIT pcbs. */
#define SO_REUSE                        1
/* Keep-alive with per-socket idle/interval/count. */
#define LWIP_TCP_KEEPALIVE              1
/* Rounds writes up to whole segments in one pbuf (fewer pbufs per segment). */
#define TCP_OVERSIZE                    TCP_MSS
/* ISNs come from tunstack (random, RFC 6528 style), not lwIP's predictable counter. */
#define LWIP_HOOK_FILENAME              "tunstack_hooks.h"
/* Source-based routing (see tunstack_hooks.h). Defined here, not in the hook file, because
 * lwIP's headers test for it to declare ip4_route_src(); only ip4.c expands it. */
#define LWIP_HOOK_IP4_ROUTE_SRC(src, dest) tunstack_port_route_ip4_src((src), (dest))

/* ---- UDP ---------------------------------------------------------------------------------------- */

#define LWIP_UDP                        1
#define LWIP_UDPLITE                    0

/* ---- Checksums: computed and checked in software, except that the netif adapter turns the
 * TCP/UDP check off, packet by packet, for packets the link says the kernel checked or never
 * finished (TUN checksum offload: netif::packet_offload::checksum_trusted). ----------------- */

#define LWIP_CHECKSUM_CTRL_PER_NETIF    1

#define CHECKSUM_GEN_IP                 1
#define CHECKSUM_GEN_UDP                1
#define CHECKSUM_GEN_TCP                1
#define CHECKSUM_GEN_ICMP               1
#define CHECKSUM_GEN_ICMP6              1
#define CHECKSUM_CHECK_IP               1
#define CHECKSUM_CHECK_UDP              1
#define CHECKSUM_CHECK_TCP              1
#define CHECKSUM_CHECK_ICMP             1
#define CHECKSUM_CHECK_ICMP6            1

/* ---- Statistics: they feed tunstack::stack::stats() and the status page ------------------- */

#define LWIP_STATS                      1
/* 32-bit counters: 16-bit ones wrap after 65535 packets. */
#define LWIP_STATS_LARGE                1
#define LWIP_STATS_DISPLAY              0
#define LINK_STATS                      1
#define IP_STATS                        1
#define IPFRAG_STATS                    1
#define ICMP_STATS                      1
#define UDP_STATS                       1
#define TCP_STATS                       1
#define MEM_STATS                       1
#define MEMP_STATS                      1
#define IP6_STATS                       1
#define ICMP6_STATS                     1
#define IP6_FRAG_STATS                  1
#define ND6_STATS                       1
#define MLD6_STATS                      0
#define IGMP_STATS                      0
#define ETHARP_STATS                    0
#define SYS_STATS                       0

/* ---- Random numbers: seeded by tunstack (reproducible runs with a fixed seed) ---------------- */

#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
uint32_t tunstack_port_rand(void);
uint32_t tunstack_port_clock_us(void);
#ifdef __cplusplus
}
#endif
#define LWIP_RAND()                     tunstack_port_rand()
/* TCP times every segment it sends for its RTT samples (patch 0002): with the stack's own clock
 * in microseconds, so round trips far below a millisecond (a local TUN link: 30-70 us) are
 * measured, and the simulator's manual clock drives them too. */
#define TCP_CLOCK_US()                  tunstack_port_clock_us()

#endif /* TUNSTACK_LWIPOPTS_H */

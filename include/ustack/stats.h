/* Counters, named like Linux's /proc/net/snmp and netstat -s where Linux
 * counts the same event, so `ustack stats` reads like `nstat`. Each X-macro
 * list below generates the struct fields, the name table and the
 * descriptions (us_stats_foreach_desc, us_stats_describe).
 *
 * The format, one counter a line:
 *
 *     X(Name, "what one increment means, in one line")
 *
 * - Name is the field and the name shown ("Ip.InReceives"): Linux's name
 *   where Linux counts the same event, else a new one in the same style.
 * - The description says what is counted (the event, and for a drop the
 *   reason) in at most 100 characters, without double quotes, backslashes
 *   or a trailing full stop. It is what `ustack stats --describe` prints
 *   and the Prometheus HELP line of `--metrics`.
 * - Every counter is incremented where its event happens; one with no
 *   such event in ustack is removed, not kept at zero.
 * - To add a counter: add its line to its group's list (new groups also
 *   need a line in src/core/stats.c), increment it where its event happens
 *   (STAT_INC), and make tests/sim/test_counters.c move it (it fails on
 *   any counter that stays at 0). tests/unit/test_stats_desc.c checks
 *   every description against these rules. */
#ifndef USTACK_STATS_H
#define USTACK_STATS_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

#define US_STATS_LINK(X) \
	X(InFrames, "frames (TUN: packets) received from the device, including those dropped below") \
	X(InRunts, "frames dropped: too short for an Ethernet header (TUN: empty)") \
	X(InUnknownType, "frames dropped: EtherType not IPv4, IPv6 or ARP, or a bad header (TUN: not IPv4 or IPv6)") \
	X(InNotForUs, "Ethernet frames dropped: unicast to another MAC address") \
	X(InVlan, "Ethernet frames dropped: VLAN-tagged (ustack is not VLAN-aware)") \
	X(InNoBuf, "frames the device had that no free packet buffer could take (dropped)") \
	X(InErrors, "frames the device delivered damaged and dropped: truncated, too long, a bad descriptor") \
	X(OutFrames, "frames the device took for sending") \
	X(OutErrors, "frames not sent: no packet buffer, or no room for the Ethernet header") \
	X(OutDrops, "frames the device refused (its queue full, or an error)")

#define US_STATS_ARP(X) \
	X(InRequests, "ARP requests received") \
	X(InReplies, "ARP replies received") \
	X(InMalformed, "ARP packets dropped: too short, or not Ethernet and IPv4 ARP") \
	X(InBogus, "ARP ignored: impossible or off-subnet sender, or a second MAC just after a confirmation") \
	X(InUnsolicited, "ARP replies for an address not being resolved or cached (ignored)") \
	X(Conflicts, "ARP packets from another host claiming one of our addresses (RFC 5227)") \
	X(CacheEvictions, "neighbour entries evicted to make room in a full cache") \
	X(OutRequests, "ARP requests sent (resolutions and their retries)") \
	X(OutReplies, "ARP replies sent") \
	X(OutGratuitous, "gratuitous ARP announcements sent when the interface came up") \
	X(ResolveFails, "address resolutions given up after the last retry") \
	X(QueueDrops, "packets dropped while waiting for ARP: queue full, no entry free, or resolution failed")

#define US_STATS_IP(X) \
	X(InReceives, "IPv4 datagrams received, including those in error") \
	X(InHdrErrors, "datagrams dropped: bad version, header length, total length or other header field") \
	X(InAddrErrors, "datagrams dropped: martian source, or destination not ours (ustack does not forward)") \
	X(InUnknownProtos, "datagrams for us with a protocol ustack has no handler for (IP-in-IP, ...)") \
	X(InDiscards, "datagrams dropped for lack of resources: no packet buffer to reassemble them in") \
	X(InDelivers, "datagrams passed up to ICMP, UDP or TCP") \
	X(InTruncatedPkts, "datagrams dropped: shorter than their header says") \
	X(InCsumErrors, "datagrams dropped: bad header checksum") \
	X(InBcastPkts, "broadcast and multicast datagrams received") \
	X(InOptUnknown, "IP options of an unknown type in received headers (skipped)") \
	X(OutRequests, "datagrams the protocols handed to IPv4 output (before fragmentation)") \
	X(OutDiscards, "outgoing datagrams dropped: too long, no buffer, or built for another device") \
	X(OutNoRoutes, "outgoing datagrams dropped: no route to the destination") \
	X(ReasmTimeout, "datagrams whose reassembly timed out (reasm_timeout_ms)") \
	X(ReasmReqds, "fragments received for reassembly") \
	X(ReasmOKs, "datagrams reassembled") \
	X(ReasmFails, "reassemblies that failed: timeout, eviction, overlap or bad fragment") \
	X(ReasmOverlaps, "fragments that overlapped another: their datagram is discarded (RFC 5722)") \
	X(ReasmDuplicates, "fragments received twice, or for a datagram already reassembled (ignored)") \
	X(ReasmEvictions, "datagrams under reassembly evicted to make room (reasm_max, reasm_mem)") \
	X(FragOKs, "datagrams fragmented for output") \
	X(FragFails, "datagrams not sent: larger than the MTU with DF set, or fragmenting failed") \
	X(FragCreates, "fragments created")

#define US_STATS_ICMP(X) \
	X(InMsgs, "ICMP messages received, including those in error") \
	X(InErrors, "ICMP messages dropped: too short or bad checksum") \
	X(InCsumErrors, "ICMP messages dropped: bad checksum") \
	X(InDestUnreachs, "destination unreachable messages received") \
	X(InTimeExcds, "time exceeded messages received") \
	X(InParmProbs, "parameter problem messages received") \
	X(InEchos, "echo requests received") \
	X(InEchoReps, "echo replies received") \
	X(InBcastIgnored, "echo requests to a broadcast or multicast address, not answered (no smurf amplifier)") \
	X(InInvalidQuote, "ICMP errors ignored: the quoted datagram is not one we sent (or its TCP seq is stale)") \
	X(OutMsgs, "ICMP messages sent") \
	X(OutErrors, "ICMP messages not sent: no packet buffer or an output error") \
	X(OutDestUnreachs, "destination unreachable messages sent") \
	X(OutTimeExcds, "time exceeded messages sent") \
	X(OutEchos, "echo requests sent (ping sockets)") \
	X(OutEchoReps, "echo replies sent") \
	X(OutRateLimited, "ICMP errors not sent: rate limit (icmp_rate_ms, icmp_burst)") \
	X(OutSuppressed, "ICMP errors not sent because RFC 1122 forbids them (about an error, broadcast, fragment)")

#define US_STATS_IP6(X) \
	X(InReceives, "IPv6 packets received, including those in error") \
	X(InHdrErrors, "packets dropped: bad version, hop limit 0, bad extension headers or a jumbogram") \
	X(InAddrErrors, "packets dropped: multicast, loopback or v4-mapped source, or destination not ours") \
	X(InUnknownProtos, "packets for us with a next header ustack has no handler for (parameter problem sent)") \
	X(InTruncatedPkts, "packets dropped: shorter than their payload length says") \
	X(InDiscards, "packets dropped: an unknown option says discard, no next header, or no reassembly buffer") \
	X(InDelivers, "packets passed up to ICMPv6, UDP or TCP") \
	X(InMcastPkts, "multicast packets received for us") \
	X(InOptUnknown, "unknown options of action skip in received extension headers") \
	X(OutRequests, "packets the protocols handed to IPv6 output (before fragmentation)") \
	X(OutDiscards, "outgoing packets dropped: too long, no buffer, or built for another device") \
	X(OutNoRoutes, "outgoing packets dropped: no route to the destination") \
	X(OutMcastPkts, "multicast packets sent") \
	X(ReasmTimeout, "packets whose reassembly timed out (reasm_timeout_ms, at most 60 s)") \
	X(ReasmReqds, "fragments received for reassembly") \
	X(ReasmOKs, "packets reassembled") \
	X(ReasmFails, "reassemblies that failed: timeout, eviction, overlap or bad fragment") \
	X(ReasmOverlaps, "fragments that overlapped another: their packet is discarded (RFC 5722)") \
	X(ReasmDuplicates, "fragments received twice, or for a packet already reassembled (ignored)") \
	X(ReasmEvictions, "packets under reassembly evicted to make room (reasm_max, reasm_mem)") \
	X(InAtomicFrags, "atomic fragments (offset 0, M clear) processed as whole packets (RFC 6946)") \
	X(InTinyFrags, "first fragments dropped: no whole header chain with the upper-layer header (RFC 7112)") \
	X(FragOKs, "packets fragmented for output") \
	X(FragFails, "packets not sent: fragmenting failed (no buffer)") \
	X(FragCreates, "fragments created") \
	X(PmtuUpdates, "path MTUs lowered by a packet too big message (RFC 8201)")

#define US_STATS_ICMP6(X) \
	X(InMsgs, "ICMPv6 messages received, including those in error") \
	X(InErrors, "ICMPv6 messages dropped: too short, bad checksum or an invalid NDP message") \
	X(InCsumErrors, "ICMPv6 messages dropped: bad checksum") \
	X(InDestUnreachs, "destination unreachable messages received") \
	X(InPktTooBigs, "packet too big messages received") \
	X(InTimeExcds, "time exceeded messages received") \
	X(InParmProblems, "parameter problem messages received") \
	X(InEchos, "echo requests received") \
	X(InEchoReplies, "echo replies received") \
	X(InRouterSolicits, "router solicitations received (ignored: ustack is a host)") \
	X(InRouterAdvertisements, "valid router advertisements received") \
	X(InNeighborSolicits, "valid neighbor solicitations received") \
	X(InNeighborAdvertisements, "valid neighbor advertisements received") \
	X(InRedirects, "redirects received (ignored)") \
	X(InGroupMembQueries, "MLD queries received (MLDv1 or MLDv2, RFC 3810)") \
	X(InGroupMembResponses, "MLDv1 reports received (another listener's; ignored)") \
	X(InGroupMembReductions, "MLDv1 done messages received (ignored)") \
	X(InMLDv2Reports, "MLDv2 reports received (another listener's; ignored)") \
	X(InBadMLD, "MLD queries dropped: a source that is not link-local, or a bad length (RFC 3810 5.1.14, 8.1)") \
	X(InBadHopLimit, "NDP messages dropped: hop limit not 255 (RFC 4861)") \
	X(InBadNd, "NDP messages dropped: malformed, off-link or a spoofing rule broken") \
	X(InInvalidQuote, "ICMPv6 errors ignored: the quoted packet is not one we sent") \
	X(InPmtuBelowMin, "packet too big messages with an MTU below 1280, discarded (RFC 8201 4)") \
	X(OutMsgs, "ICMPv6 messages sent") \
	X(OutErrors, "ICMPv6 messages not sent: no packet buffer or an output error") \
	X(OutDestUnreachs, "destination unreachable messages sent") \
	X(OutTimeExcds, "time exceeded messages sent") \
	X(OutParmProblems, "parameter problem messages sent") \
	X(OutEchos, "echo requests sent (ping sockets)") \
	X(OutEchoReplies, "echo replies sent") \
	X(OutRouterSolicits, "router solicitations sent") \
	X(OutNeighborSolicits, "neighbor solicitations sent (resolution, NUD probes, DAD)") \
	X(OutNeighborAdvertisements, "neighbor advertisements sent") \
	X(OutMLDv2Reports, "MLDv2 reports sent: the solicited-node groups joined, left, or asked for") \
	X(OutGroupMembResponses, "MLDv1 reports sent (an MLDv1 querier is present)") \
	X(OutGroupMembReductions, "MLDv1 done messages sent (a group left while an MLDv1 querier is present)") \
	X(OutRateLimited, "ICMPv6 errors not sent: rate limit (icmp_rate_ms, icmp_burst)") \
	X(OutSuppressed, "ICMPv6 errors not sent because RFC 4443 forbids them (about an error, multicast)") \
	X(DadConflicts, "addresses not assigned: another node has them (duplicate address detection)") \
	X(SlaacAddrs, "addresses made by SLAAC from a router advertisement's prefix")

#define US_STATS_UDP(X) \
	X(InDatagrams, "UDP datagrams delivered to sockets") \
	X(NoPorts, "datagrams dropped: no socket on the port (port unreachable sent, within the rate limit)") \
	X(InErrors, "datagrams dropped: malformed, bad checksum, receive buffer or memory budget full") \
	X(OutDatagrams, "UDP datagrams sent") \
	X(RcvbufErrors, "datagrams dropped: the socket's receive buffer was full") \
	X(SndbufErrors, "datagrams not sent: no packet buffer") \
	X(InCsumErrors, "datagrams dropped: bad checksum") \
	X(IgnoredMulti, "broadcast or multicast datagrams no socket wanted (dropped without an error)") \
	X(MemErrors, "datagrams dropped: queueing them would use the last eighth of the memory budget (mem_max)")

#define US_STATS_TCP(X) \
	X(ActiveOpens, "connections opened with connect (CLOSED to SYN-SENT)") \
	X(PassiveOpens, "connections accepted by a listener (SYN-RECEIVED to ESTABLISHED)") \
	X(AttemptFails, "connects that failed: RST, timeout, or a hard ICMP error") \
	X(EstabResets, "connections reset or aborted from ESTABLISHED or CLOSE-WAIT") \
	X(CurrEstab, "connections now in ESTABLISHED or CLOSE-WAIT (a gauge, not a count of events)") \
	X(InSegs, "segments received, including those in error") \
	X(OutSegs, "segments sent (a TSO super-segment counts as the segments it is cut into)") \
	X(RetransSegs, "segments retransmitted") \
	X(InErrs, "segments dropped: malformed or bad checksum") \
	X(OutRsts, "RST segments sent") \
	X(InCsumErrors, "segments dropped: bad checksum")

#define US_STATS_TCPEXT(X) \
	X(SyncookiesSent, "SYN cookies sent (half-open queues full, or tcp_syncookies 2)") \
	X(SyncookiesRecv, "valid SYN cookies received: connections made from them") \
	X(SyncookiesFailed, "ACKs to a listener with an invalid SYN cookie (dropped)") \
	X(ListenOverflows, "handshakes completed while the accept queue was full") \
	X(TCPFastOpenActive, "Fast Open connects whose SYN data the server acknowledged (RFC 7413)") \
	X(TCPFastOpenActiveFail, "Fast Open connects whose SYN data was not acknowledged with the SYN") \
	X(TCPFastOpenPassive, "Fast Open SYNs with a valid cookie (their data taken at once)") \
	X(TCPFastOpenPassiveFail, "Fast Open SYNs with a wrong cookie (a fresh cookie sent, the data not taken)") \
	X(TCPFastOpenCookieReqd, "SYNs that asked for a Fast Open cookie") \
	X(ListenDrops, "SYNs and handshakes dropped by a listener: queues full, no memory, no route back") \
	X(TCPChallengeACK, "challenge ACKs sent (RFC 5961)") \
	X(TCPChallengeACKLimited, "challenge ACKs not sent: over tcp_challenge_ack_limit per second") \
	X(TCPSYNChallenge, "SYNs received on a synchronized connection (answered with a challenge ACK)") \
	X(TCPAbortOnData, "connections reset: data arrived after the application closed") \
	X(TCPAbortOnClose, "connections reset: closed with unread data (RFC 2525 2.17)") \
	X(TCPAbortOnMemory, "connections refused or reset: the memory budget was used up") \
	X(TCPAbortOnTimeout, "connections aborted: retransmissions, probes or SYNs gave up") \
	X(TCPAbortOnLinger, "connections reset: closed with SO_LINGER 0") \
	X(TCPTimeouts, "retransmission timeouts (RTO) that fired") \
	X(TCPLossProbes, "tail loss probes sent (RFC 8985 7)") \
	X(TCPFastRetrans, "fast retransmits: loss recoveries started on duplicate ACKs or SACK") \
	X(TCPSlowStartRetrans, "retransmissions after an RTO (the loss state)") \
	X(TCPSackRecovery, "loss recoveries started with SACK (RFC 6675)") \
	X(TCPRenoRecovery, "loss recoveries started without SACK (NewReno, RFC 6582)") \
	X(TCPSACKDiscard, "SACK blocks ignored as invalid (empty, or outside what was sent)") \
	X(TCPDSACKRecv, "D-SACK blocks received (RFC 2883): data the peer got twice") \
	X(TCPOFOQueue, "segments queued out of order") \
	X(TCPOFODrop, "out-of-order segments dropped: too many holes to track") \
	X(TCPOFOMerge, "in-order segments that filled a hole and released queued out-of-order data") \
	X(TCPRcvQDrop, "segments whose data lay past the receive buffer (dropped)") \
	X(TCPZeroWindowDrop, "segments whose data was dropped because our receive window was zero") \
	X(TCPWinProbe, "zero-window probes sent") \
	X(TCPKeepAlive, "keepalive probes sent") \
	X(PAWSEstab, "segments dropped by PAWS (RFC 7323): a timestamp older than the last one") \
	X(PAWSActive, "SYN-ACKs answered with a RST: their timestamp echo was not one we sent") \
	X(TCPBadOpts, "segments with malformed or out-of-range options (MSS too small, window scale over 14)") \
	X(TCPOutOfWindow, "segments with data outside the receive window (dropped, answered with an ACK)") \
	X(TCPAckInvalid, "segments dropped: they acknowledge data never sent, or far too old (RFC 5961 5.2)") \
	X(TCPRstIgnored, "RST segments not acted on: out of window, or in window but not at RCV.NXT (challenge ACK)") \
	X(TCPUrgIgnored, "segments with URG set: urgent data is delivered inline, the pointer ignored") \
	X(TCPTimeWaitRecycled, "TIME-WAIT connections taken over by a new SYN, or not kept (tcp_max_tw)") \
	X(TCPConnLimit, "connections refused: tcp_max_conns reached") \
	X(TCPMemoryPressures, "connections given smaller buffers: over half the memory budget in use") \
	X(TCPDelayedACKs, "delayed ACKs sent when their timer fired") \
	X(TCPPureAcks, "acceptable ACKs received without data, SYN or FIN") \
	X(TCPHPHits, "in-order data segments taken by header prediction (the fast path)") \
	X(TCPSpuriousRTOs, "timeouts found spurious: the next ACK echoes a timestamp from before the RTO (RFC 3522)") \
	X(TCPIcmpSoftErrors, "ICMP errors for a synchronized connection, kept as soft errors (RFC 5461)") \
	X(TCPACKSkippedSeq, "ACKs for out-of-window segments not sent: one per 500 ms at most (against ACK loops)") \
	X(TCPLostRetransmit, "retransmissions found lost again from later SACKs, and resent") \
	X(TCPLossProbeRecovery, "losses repaired by a tail loss probe") \
	X(TCPSACKReorder, "ACKs that showed reordering (RACK: data sent before a delivered segment newly SACKed)") \
	X(TCPDSACKOldSent, "D-SACK blocks sent for data received again below RCV.NXT (RFC 2883)") \
	X(TCPDSACKOfoSent, "D-SACK blocks sent for out-of-order data received twice (RFC 2883)") \
	X(TCPRackReoTimeouts, "RACK reordering timers that fired and marked segments lost (RFC 8985 6.3)") \
	X(TCPECNCeRecv, "segments received with the CE codepoint (ECN, RFC 3168)") \
	X(TCPECNEceRecv, "ACKs with ECE set received on an ECN connection") \
	X(TCPECNResponses, "congestion responses to ECE: the window reduced once per round trip") \
	X(TCPECNCwrRecv, "segments with CWR received while echoing a CE mark") \
	X(TCPMTUPFail, "path MTU probes lost (PLPMTUD, RFC 4821)") \
	X(TCPMTUPSuccess, "path MTU probes delivered: the larger size is used") \
	X(TCPMTUPBlackhole, "PLPMTUD started after repeated timeouts: large segments may be black-holed")

#define US_STATS_FIELD(name, desc) uint64_t name;
struct us_stats {
	struct { US_STATS_LINK(US_STATS_FIELD) } link;
	struct { US_STATS_ARP(US_STATS_FIELD) } arp;
	struct { US_STATS_IP(US_STATS_FIELD) } ip;
	struct { US_STATS_ICMP(US_STATS_FIELD) } icmp;
	struct { US_STATS_IP6(US_STATS_FIELD) } ip6;
	struct { US_STATS_ICMP6(US_STATS_FIELD) } icmp6;
	struct { US_STATS_UDP(US_STATS_FIELD) } udp;
	struct { US_STATS_TCP(US_STATS_FIELD) } tcp;
	struct { US_STATS_TCPEXT(US_STATS_FIELD) } tcpext;
};
#undef US_STATS_FIELD

/* Visit every counter: group ("Ip", "Tcp", ...), name, value. */
typedef void (*us_stats_visit_fn)(const char *group, const char *name, uint64_t value, void *arg);
void us_stats_foreach(const struct us_stats *s, us_stats_visit_fn fn, void *arg);
/* Value of "Group.Name" (e.g. "Ip.InReceives"), or -1 if unknown. */
int64_t us_stats_get(const struct us_stats *s, const char *dotted);
/* Visit every counter with its one-line description (the X-macro lists'
 * text). s may be NULL: every value is then 0 (to list the counters). */
typedef void (*us_stats_desc_fn)(const char *group, const char *name, uint64_t value, const char *desc,
				 void *arg);
void us_stats_foreach_desc(const struct us_stats *s, us_stats_desc_fn fn, void *arg);
/* The description of "Group.Name", or NULL if there is no such counter. */
const char *us_stats_describe(const char *dotted);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif

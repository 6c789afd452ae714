/* Counters, named like Linux's /proc/net/snmp and netstat -s where Linux
 * has a name, so `ustack stats` reads like `netstat -s`. Each X-macro list
 * generates both the struct fields and the name table. */
#ifndef USTACK_STATS_H
#define USTACK_STATS_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
#pragma GCC visibility push(default)

#define US_STATS_LINK(X) \
	X(InFrames) X(InRunts) X(InUnknownType) X(InNotForUs) X(InVlan) X(InNoBuf) \
	X(OutFrames) X(OutErrors) X(OutDrops)

#define US_STATS_ARP(X) \
	X(InRequests) X(InReplies) X(InMalformed) X(InBogus) X(InUnsolicited) \
	X(Conflicts) X(CacheEvictions) X(OutRequests) X(OutReplies) X(OutGratuitous) \
	X(ResolveFails) X(QueueDrops)

#define US_STATS_IP(X) \
	X(InReceives) X(InHdrErrors) X(InAddrErrors) X(InUnknownProtos) X(InDiscards) \
	X(InDelivers) X(InTruncatedPkts) X(InCsumErrors) X(InBcastPkts) X(InOptUnknown) \
	X(OutRequests) X(OutDiscards) X(OutNoRoutes) \
	X(ReasmTimeout) X(ReasmReqds) X(ReasmOKs) X(ReasmFails) X(ReasmOverlaps) \
	X(ReasmDuplicates) X(ReasmEvictions) \
	X(FragOKs) X(FragFails) X(FragCreates)

#define US_STATS_ICMP(X) \
	X(InMsgs) X(InErrors) X(InCsumErrors) X(InDestUnreachs) X(InTimeExcds) \
	X(InParmProbs) X(InEchos) X(InEchoReps) X(InBcastIgnored) X(InInvalidQuote) \
	X(OutMsgs) X(OutErrors) X(OutDestUnreachs) X(OutTimeExcds) X(OutParmProbs) \
	X(OutEchos) X(OutEchoReps) X(OutRateLimited) X(OutSuppressed)

#define US_STATS_UDP(X) \
	X(InDatagrams) X(NoPorts) X(InErrors) X(OutDatagrams) X(RcvbufErrors) \
	X(SndbufErrors) X(InCsumErrors) X(IgnoredMulti) X(MemErrors)

#define US_STATS_TCP(X) \
	X(ActiveOpens) X(PassiveOpens) X(AttemptFails) X(EstabResets) X(CurrEstab) \
	X(InSegs) X(OutSegs) X(RetransSegs) X(InErrs) X(OutRsts) X(InCsumErrors)

#define US_STATS_TCPEXT(X) \
	X(SyncookiesSent) X(SyncookiesRecv) X(SyncookiesFailed) X(ListenOverflows) \
	X(ListenDrops) X(TCPChallengeACK) X(TCPChallengeACKLimited) X(TCPSYNChallenge) \
	X(TCPAbortOnData) X(TCPAbortOnClose) X(TCPAbortOnMemory) X(TCPAbortOnTimeout) \
	X(TCPAbortOnLinger) X(TCPTimeouts) X(TCPLossProbes) X(TCPFastRetrans) \
	X(TCPSlowStartRetrans) X(TCPSackRecovery) X(TCPRenoRecovery) X(TCPSACKDiscard) \
	X(TCPDSACKRecv) X(TCPOFOQueue) X(TCPOFODrop) X(TCPOFOMerge) X(TCPRcvQDrop) \
	X(TCPZeroWindowDrop) X(TCPWinProbe) X(TCPKeepAlive) X(PAWSEstab) X(TCPBadOpts) \
	X(TCPOutOfWindow) X(TCPAckInvalid) X(TCPRstIgnored) X(TCPUrgIgnored) \
	X(TCPTimeWaitRecycled) X(TCPConnLimit) X(TCPMemoryPressures) X(TCPAutoCorking) \
	X(TCPDelayedACKs) X(TCPPureAcks) X(TCPHPHits) X(TCPSpuriousRTOs) X(TCPIcmpSoftErrors) \
	X(TCPACKSkippedSeq) X(TCPLostRetransmit) X(TCPLossProbeRecovery)

#define US_STATS_FIELD(name) uint64_t name;
struct us_stats {
	struct { US_STATS_LINK(US_STATS_FIELD) } link;
	struct { US_STATS_ARP(US_STATS_FIELD) } arp;
	struct { US_STATS_IP(US_STATS_FIELD) } ip;
	struct { US_STATS_ICMP(US_STATS_FIELD) } icmp;
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

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif

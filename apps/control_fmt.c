/* The control socket's pure parts: names, escaping, parsing and the ss
 * lines, with no I/O of their own (tests/unit/test_control.c). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"

int app_ctl_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	memset(ss, 0, sizeof(*ss));
	if (!s || !*s)
		return -1;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
			return -1;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = 0;
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(host) || memchr(s, ':', (size_t)(colon - s)))
			return -1;   /* an IPv6 address wants brackets */
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = 0;
	}
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port < 1 || port > 65535 || !isdigit((unsigned char)colon[1]))
		return -1;
	if (s[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return -1;
		*len = sizeof(*a6);
		return 0;
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	a4->sin_family = AF_INET;
	a4->sin_port = htons((uint16_t)port);
	if (!*host || !strcmp(host, "*"))
		a4->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
		return -1;
	*len = sizeof(*a4);
	return 0;
}

/* CamelCase to snake_case: a '_' before an upper-case letter that follows a
 * lower-case letter or digit, or that starts a word after an acronym
 * ("TCPChallengeACK" -> tcp_challenge_ack, "InCsumErrors" -> in_csum_errors).
 * Linux's "TCP" prefix is a word of its own before another acronym
 * ("TCPDSACKRecv" -> tcp_dsack_recv). */
static int snake(const char *s, char *buf, size_t cap, size_t *pos)
{
	size_t n = strlen(s), i = 0;
	if (!strncmp(s, "TCP", 3) && isupper((unsigned char)s[3])) {
		if (*pos + 5 >= cap)
			return -1;
		memcpy(buf + *pos, "tcp_", 4);
		*pos += 4;
		i = 3;
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int up = isupper(c);
		if (up && i > 0 && buf[*pos - 1] != '_') {
			unsigned char p = (unsigned char)s[i - 1], nx = (unsigned char)s[i + 1];
			/* an acronym's plural ("OKs") stays one word */
			int plural = nx == 's' && (!s[i + 2] || isupper((unsigned char)s[i + 2]));
			if (islower(p) || isdigit(p) || (isupper(p) && islower(nx) && !plural))
				if (*pos + 1 < cap)
					buf[(*pos)++] = '_';
		}
		if (*pos + 1 >= cap)
			return -1;
		buf[(*pos)++] = isalnum(c) ? (char)tolower(c) : '_';
	}
	buf[*pos] = 0;
	return 0;
}

int app_ctl_metric_name(const char *group, const char *name, int kind, char *buf, size_t cap)
{
	static const char prefix[] = "ustack_";
	if (cap < sizeof(prefix))
		return -1;
	memcpy(buf, prefix, sizeof(prefix));
	size_t pos = sizeof(prefix) - 1;
	if (snake(group, buf, cap, &pos) < 0 || pos + 1 >= cap)
		return -1;
	buf[pos++] = '_';
	if (snake(name, buf, cap, &pos) < 0)
		return -1;
	if (kind == APP_CTL_COUNTER) {
		static const char total[] = "_total";
		if (pos + sizeof(total) > cap)
			return -1;
		memcpy(buf + pos, total, sizeof(total));
		pos += sizeof(total) - 1;
	}
	return (int)pos;
}

static int escape(const char *v, char *buf, size_t cap, int quotes)
{
	size_t pos = 0;
	for (; *v; v++) {
		const char *rep = NULL;
		if (*v == '\\')
			rep = "\\\\";
		else if (*v == '\n')
			rep = "\\n";
		else if (*v == '"' && quotes)
			rep = "\\\"";
		size_t n = rep ? 2 : 1;
		if (pos + n >= cap)
			return -1;
		if (rep)
			memcpy(buf + pos, rep, 2);
		else
			buf[pos] = *v;
		pos += n;
	}
	if (pos >= cap)
		return -1;
	buf[pos] = 0;
	return (int)pos;
}

int app_ctl_label_escape(const char *v, char *buf, size_t cap) { return escape(v, buf, cap, 1); }
int app_ctl_help_escape(const char *v, char *buf, size_t cap) { return escape(v, buf, cap, 0); }

const char *app_ctl_ss_state(int state)
{
	static const char *const names[] = {
		[US_TCP_CLOSED] = "CLOSED",         [US_TCP_LISTEN] = "LISTEN",
		[US_TCP_SYN_SENT] = "SYN-SENT",     [US_TCP_SYN_RECEIVED] = "SYN-RECV",
		[US_TCP_ESTABLISHED] = "ESTAB",     [US_TCP_FIN_WAIT_1] = "FIN-WAIT-1",
		[US_TCP_FIN_WAIT_2] = "FIN-WAIT-2", [US_TCP_CLOSE_WAIT] = "CLOSE-WAIT",
		[US_TCP_CLOSING] = "CLOSING",       [US_TCP_LAST_ACK] = "LAST-ACK",
		[US_TCP_TIME_WAIT] = "TIME-WAIT",
	};
	return state >= 0 && state < (int)(sizeof(names) / sizeof(names[0])) && names[state] ? names[state] : "UNKNOWN";
}

int app_ctl_ss_wants(int state, unsigned flags)
{
	if (flags & APP_CTL_SS_LISTEN)
		return state == US_TCP_LISTEN;
	if (flags & APP_CTL_SS_ALL)
		return 1;
	/* ss's default filter (SS_CONN) */
	return state != US_TCP_LISTEN && state != US_TCP_CLOSED && state != US_TCP_TIME_WAIT &&
	       state != US_TCP_SYN_RECEIVED;
}

/* An address as ss prints it: IPv4 (also when IPv4-mapped), [IPv6], or
 * "*" for the IPv6 wildcard (a socket of both families). */
static void endpoint(char *buf, size_t cap, int family, uint32_t a4, const uint8_t *a6, uint16_t port)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, zero[16];
	char a[INET6_ADDRSTRLEN], p[8];
	snprintf(p, sizeof(p), "%u", port);
	if (family == AF_INET6 && !memcmp(a6, mapped, 12)) {
		family = AF_INET;
		a4 = (uint32_t)a6[12] << 24 | (uint32_t)a6[13] << 16 | (uint32_t)a6[14] << 8 | a6[15];
	}
	if (family == AF_INET6 && !memcmp(a6, zero, 16)) {
		snprintf(buf, cap, "*:%s", p);
	} else if (family == AF_INET6) {
		inet_ntop(AF_INET6, a6, a, sizeof(a));
		snprintf(buf, cap, "[%s]:%s", a, p);
	} else {
		struct in_addr ia = {htonl(a4)};
		inet_ntop(AF_INET, &ia, a, sizeof(a));
		snprintf(buf, cap, "%s:%s", a, p);
	}
}

void app_ctl_ss_line(const struct us_tcp_info *i, unsigned flags, FILE *out)
{
	char l[64], r[64];
	int listen = i->state == US_TCP_LISTEN;
	endpoint(l, sizeof(l), i->family, i->laddr, i->laddr6, i->lport);
	if (listen)   /* no peer: the wildcard of the local address's family */
		snprintf(r, sizeof(r), "%s", l[0] == '[' ? "[::]:*" : l[0] == '*' ? "*:*" : "0.0.0.0:*");
	else
		endpoint(r, sizeof(r), i->family, i->raddr, i->raddr6, i->rport);
	fprintf(out, "%-10s %-7u %-7u %-30s %s\n", app_ctl_ss_state(i->state), i->rcv_queued, i->snd_queued, l, r);
	if (!(flags & APP_CTL_SS_INFO) || i->state == US_TCP_LISTEN)
		return;
	/* as ss -i: the congestion control, then key:value pairs */
	fprintf(out, "\t %s", i->cc[0] ? i->cc : "-");
	if (i->snd_wscale || i->rcv_wscale)
		fprintf(out, " wscale:%u,%u", i->snd_wscale, i->rcv_wscale);
	fprintf(out, " rto:%g rtt:%.3f/%.3f mss:%u rcvmss:%u cwnd:%u", i->rto_us / 1000.0, i->srtt_us / 1000.0,
		i->rttvar_us / 1000.0, i->snd_mss, i->rcv_mss, i->snd_mss ? i->cwnd / i->snd_mss : i->cwnd);
	if (i->ssthresh != UINT32_MAX && i->ssthresh && i->snd_mss)
		fprintf(out, " ssthresh:%u", i->ssthresh / i->snd_mss);
	fprintf(out, " bytes_acked:%llu bytes_received:%llu segs_out:%llu segs_in:%llu",
		(unsigned long long)i->bytes_acked, (unsigned long long)i->bytes_received,
		(unsigned long long)i->segs_out, (unsigned long long)i->segs_in);
	if (i->unacked)
		fprintf(out, " unacked:%u", i->unacked);
	if (i->sacked)
		fprintf(out, " sacked:%u", i->sacked);
	if (i->retransmits || i->total_retrans)
		fprintf(out, " retrans:%u/%llu", i->retransmits, (unsigned long long)i->total_retrans);
	fprintf(out, " snd_wnd:%u rcv_wnd:%u%s%s%s\n", i->snd_wnd, i->rcv_wnd, i->sack_ok ? " sack" : "",
		i->ts_ok ? " ts" : "", i->ca_state == 1 ? " recovery" : i->ca_state == 2 ? " loss" : "");
}

int app_ctl_parse_counter(char *line, struct app_ctl_counter *out)
{
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = 0;
	char *kind = line, *sp = strchr(kind, ' ');
	if (!sp)
		return -1;
	*sp = 0;
	if (!strcmp(kind, "counter"))
		out->kind = APP_CTL_COUNTER;
	else if (!strcmp(kind, "gauge"))
		out->kind = APP_CTL_GAUGE;
	else
		return -1;
	out->name = sp + 1;
	sp = strchr(out->name, ' ');
	char *dot = strchr(out->name, '.');
	if (!sp || !dot || dot == out->name || dot > sp || dot + 1 == sp)
		return -1;
	*sp = 0;
	char *v = sp + 1, *end;
	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	unsigned long long val = strtoull(v, &end, 10);
	if (errno || (*end && *end != ' '))
		return -1;
	out->value = val;
	out->desc = *end ? end + 1 : end;
	return 0;
}

double app_ctl_rate(uint64_t before, uint64_t after, double dt_s)
{
	if (dt_s <= 0)
		return 0;
	uint64_t d = after >= before ? after - before : after;
	return (double)d / dt_s;
}

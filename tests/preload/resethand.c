/* A server that ends on SIGTERM the way node does: its handler, installed
 * with SA_RESETHAND, says so and raises the signal again, which then finds
 * the default action. Under `ustack run` the process must still close its
 * connections and write its counters before it dies (test_run.sh).
 *
 *   resethand ADDR PORT: listen, print "listening", accept one connection,
 *   print "accepted", wait for a signal. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void on_term(int sig)
{
	static const char msg[] = "caught\n";
	(void)!write(1, msg, sizeof(msg) - 1);
	raise(sig);   /* the disposition is the default again (SA_RESETHAND) */
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: resethand ADDR PORT\n");
		return 2;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0) {
		perror("sigaction");
		return 1;
	}
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)atoi(argv[2]));
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	if (l < 0 || inet_pton(AF_INET, argv[1], &a.sin_addr) != 1 ||
	    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0) {
		perror("listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	int c = accept(l, NULL, NULL);
	if (c < 0) {
		perror("accept");
		return 1;
	}
	printf("accepted\n");
	fflush(stdout);
	for (;;)
		pause();
}

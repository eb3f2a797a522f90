/* test_proto_sshkey.c - OpenSSH public key lines (proto/sshkey.h): the
 * five key types a probe may have, and the keys `vantage probe add` must
 * refuse (bad base64, a blob of another type, unknown types). */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "proto/sshkey.h"

#define ED    "AAAAC3NzaC1lZDI1NTE5AAAAILtjREu6qEKuVeBLNYVy7kLwaa4EO2mf+YhivrOAzIkJ"
#define P256  "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBDBuHdvuXY6t9U9e5m5W9ymsWyjCWCAgmRdzCmPIl8UPlStOYWoTMygaVC1bhSJjSvbegcb6URkMMORV7RfmBV4="
#define P384  "AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBFSoDOmfPVpDAAkc0AsWOjeeocJRKlMr4jvluwe0wgxAkM65nqQ2LUHnvE7LpLpt4M5Plu+rpza38c+FhElnumyIcHNP76PcQKBgxPwi0pFI547mR9kMlt3TgQgNQsnTCw=="
#define P521  "AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAEi6tFi87cfT5yxBQ9sobnbQsEgvPhByEgr2AQgnb/ITS0xJVwysVJ7YNZjMphBPYOsCzEL4U4GWx8ATyi6ihLbiQE3su3TY3KZ5WtPI70SgzQteOEMAzwompor/6wwhVk6dt4L41ODTU/tCgx04y643kPWqgMWr8/KcxFA/5kY5+iZGQ=="
#define RSA   "AAAAB3NzaC1yc2EAAAADAQABAAAAgQDdHkNkbOnDjdAGwsOIc3Eta4pJba1WSz+zsFR42rFoWnzRHpAVcwpB6FDdcNOICD9tamIQ1ySlw/LpRD/kAKj+i0VnQgdluD1ZN8ItMSrg58G6qS+bwV2A2WJv3FKZEnl8ktfiJFD2gxtxk9vwOFa2Y8/+TqaOMCDlEyk8r+8wiQ=="

static struct vt_sshkey k;

static int parse(const char *line, char *err, size_t n)
{
	return vt_sshkey_parse(line, strlen(line), &k, err, n);
}

/* 1 when line is refused with rc and a reason containing want. */
static int refused(const char *line, int rc, const char *want)
{
	char err[256] = "";
	int r = parse(line, err, sizeof err);

	if (r != rc || !strstr(err, want) || k.type[0] || k.b64[0]) {
		printf("# %.60s: rc %d, err '%s'\n", line, r, err);
		return 0;
	}
	return 1;
}

static void test_good(void)
{
	char err[256];

	CHECK_INT(parse("ssh-ed25519 " ED " probe@x\n", err, sizeof err), VT_OK);
	CHECK_STR(k.type, "ssh-ed25519");
	CHECK_STR(k.b64, ED);
	CHECK_INT(parse("ssh-rsa " RSA, err, sizeof err), VT_OK);
	CHECK_STR(k.type, "ssh-rsa");
	CHECK_INT(parse("ecdsa-sha2-nistp256 " P256 " a comment\r\n", err,
			sizeof err), VT_OK);
	CHECK_STR(k.type, "ecdsa-sha2-nistp256");
	CHECK_STR(k.b64, P256);
	CHECK_INT(parse("ecdsa-sha2-nistp384 " P384, err, sizeof err), VT_OK);
	CHECK_INT(parse("ecdsa-sha2-nistp521 " P521 "\nsecond line", err,
			sizeof err), VT_OK);
	CHECK_STR(k.type, "ecdsa-sha2-nistp521");
}

static void test_bad(void)
{
	char line[1024];

	CHECK(refused("", VT_EPARSE, "empty"));
	CHECK(refused("ssh-ed25519\n", VT_EPARSE, "not an OpenSSH public key"));
	CHECK(refused("ssh-dss " ED, VT_EUNSUPP, "ssh-dss"));
	CHECK(refused("ecdsa-sha2-nistp999 " P256, VT_EUNSUPP, "nistp999"));
	/* base64: alphabet, padding, canonical trailing bits, length */
	CHECK(refused("ssh-ed25519 AAAA!AAA", VT_EPARSE, "base64"));
	CHECK(refused("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILtjREu6qEKuVeBLNYVy7kLwaa4EO2mf+YhivrOAzIk",
		      VT_EPARSE, "base64"));
	CHECK(refused("ssh-ed25519 AA=A", VT_EPARSE, "base64"));
	CHECK(refused("ssh-ed25519 AB==", VT_EPARSE, "base64"));
	snprintf(line, sizeof line, "ecdsa-sha2-nistp256 %s", P256);
	line[strlen(line) - 2] = '5';       /* ...V4= -> ...V5=: bits under '=' */
	CHECK(refused(line, VT_EPARSE, "base64"));
	/* the blob's own type and fields */
	CHECK(refused("ssh-rsa " ED, VT_EPARSE, "another type"));
	CHECK(refused("ecdsa-sha2-nistp384 " P256, VT_EPARSE, "another type"));
	CHECK(refused("ssh-ed25519 " P256, VT_EPARSE, "another type"));
	snprintf(line, sizeof line, "ssh-ed25519 %.40s", ED);
	CHECK(refused(line, VT_EPARSE, "cut short"));
}

int main(void)
{
	test_good();
	test_bad();
	return CHECK_DONE();
}

/* privdrop.c - become an unprivileged user that keeps CAP_NET_RAW. */
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "probe/measure/measure.h"

int vt_measure_drop_root(const char *user)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0,
	};
	struct __user_cap_data_struct data[2] = { { 0 } };
	struct passwd *pw;
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0)
		return 0;
	pw = getpwnam(user ? user : "nobody");
	if (!pw)
		return VT_ENOTFOUND;
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 ||
	    setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0)
		return VT_EIO;
	data[CAP_NET_RAW / 32].permitted = 1u << (CAP_NET_RAW % 32);
	data[CAP_NET_RAW / 32].effective = 1u << (CAP_NET_RAW % 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return VT_EIO;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return VT_EIO;
	if (setuid(0) == 0)      /* must not be able to come back */
		return VT_EIO;
	return 0;
}

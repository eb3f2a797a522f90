/* body.c - participation request bodies. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/api/body.h"

/* A checker's "where.field: reason" as a refusal with its pointer. */
static int refuse(struct vt_api_err *e, const char *where, const char *field,
		  const char *reason)
{
	char msg[512];

	snprintf(msg, sizeof msg, "%s%s: %s", where, field, reason);
	vt_api_err_from_msg(e, msg, "");
	return VT_EPARSE;
}

static int item(const json_t *o, size_t i, struct vt_api_part *it,
		struct vt_api_err *e)
{
	const char *action = json_string_value(json_object_get(o, "action"));
	char where[32], err[512];

	snprintf(where, sizeof where, "[%zu]", i);
	if (!json_is_object(o))
		return refuse(e, where, "", "must be an object");
	if (!action || (strcmp(action, "add") && strcmp(action, "remove")))
		return refuse(e, where, ".action", "must be \"add\" or \"remove\"");
	it->remove = !strcmp(action, "remove");
	if (it->remove) {
		json_t *v = json_object_get(o, "value");
		const char *type = json_string_value(json_object_get(o, "type"));
		const char *s = json_string_value(v);
		char tmp[32];

		if (json_is_integer(v)) {
			snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(v));
			s = tmp;
		}
		if (type && strcmp(type, "probes"))
			return refuse(e, where, ".type", "only \"probes\" can be removed");
		if (!s || vt_msm_id_list(s, it->ids, sizeof it->ids) < 0)
			return refuse(e, where, ".value",
				      "not a list of probe ids (e.g. \"1,2,3\")");
		return 0;
	}
	if (vt_msm_spec_parse(o, where, &it->spec, err, sizeof err) < 0) {
		vt_api_err_from_msg(e, err, "");
		return VT_EPARSE;
	}
	return 0;
}

int vt_api_part_parse(const char *body, size_t len, struct vt_api_part **out,
		      size_t *n, struct vt_api_err *e)
{
	struct vt_api_part *items = NULL;
	json_error_t jerr;
	json_t *root, *o;
	size_t i;
	int rc = 0;

	*out = NULL;
	*n = 0;
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return vt_api_fail(e, 400, 1, "", "not JSON: line %d: %s", jerr.line,
				   jerr.text);
	if (json_is_object(root)) {
		json_t *a = json_array();

		if (!a || json_array_append_new(a, root) < 0) {
			json_decref(a);
			json_decref(root);
			return VT_ENOMEM;
		}
		root = a;
	}
	if (!json_is_array(root) || !json_array_size(root) ||
	    json_array_size(root) > VT_MSM_SPECS_MAX) {
		rc = vt_api_fail(e, 400, 1, "", "the request must be a list of 1 to %d "
				 "participation requests", VT_MSM_SPECS_MAX);
		goto out;
	}
	if (!(items = calloc(json_array_size(root), sizeof *items))) {
		rc = VT_ENOMEM;
		goto out;
	}
	json_array_foreach(root, i, o)
		if ((rc = item(o, i, &items[i], e)) < 0)
			goto out;
	*n = json_array_size(root);
	*out = items;
	items = NULL;
out:
	free(items);
	json_decref(root);
	return rc;
}

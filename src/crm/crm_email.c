/*
 * crm email: threading for outbound e-mail. A reply answers the customer's
 * latest e-mail of the conversation (In-Reply-To) and lists the thread's
 * Message-IDs up to it (References), so the customer's mail program files
 * it under the same thread. Provider-neutral: SMTP and API senders alike
 * get the same headers.
 */
#include <string.h>

#include "crm/crm.h"

#define THREAD_IDS 20

struct thread_ids {
    int n;
    char dir[THREAD_IDS][16];
    char id[THREAD_IDS][256];
};

/* "<id>" of printable ASCII without spaces or inner brackets: anything else
 * (an odd id a sender's mail program made up) would break the header. */
static int id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 3 || n > 250 || s[0] != '<' || s[n - 1] != '>')
        return 0;
    for (size_t i = 1; i + 1 < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '<' || s[i] == '>')
            return 0;
    return 1;
}

static int thread_row(void *ud, const char *direction, const char *rfc_message_id, int64_t created_at)
{
    struct thread_ids *t = ud;
    (void)created_at;
    if (t->n >= THREAD_IDS || !id_ok(rfc_message_id))
        return 0;
    snprintf(t->dir[t->n], sizeof(t->dir[0]), "%s", direction);
    snprintf(t->id[t->n], sizeof(t->id[0]), "%s", rfc_message_id);
    t->n++;
    return 0;
}

int crm_email_thread(struct store *db, const char *tenant_id, const struct store_message *msg,
                     struct crm_email_thread *out, struct err *e)
{
    struct thread_ids t;
    int parent = -1, rc;
    size_t len = 0;

    memset(out, 0, sizeof(*out));
    memset(&t, 0, sizeof(t));
    if ((rc = store_message_rfc_ids(db, tenant_id, msg->conversation_id, msg->id, msg->created_at, THREAD_IDS,
                                    thread_row, &t, e)))
        return rc;
    /* Newest first: the latest inbound, else the latest of any direction. */
    for (int i = 0; i < t.n && parent < 0; i++)
        if (strcmp(t.dir[i], "inbound") == 0)
            parent = i;
    if (parent < 0 && t.n > 0)
        parent = 0;
    if (parent < 0)
        return 0;
    snprintf(out->in_reply_to, sizeof(out->in_reply_to), "%s", t.id[parent]);
    /* From the parent back while they fit (older ids give way first),
     * then written oldest first. */
    int oldest = parent;
    for (int i = parent; i < t.n && len + strlen(t.id[i]) + 1 < sizeof(out->references); i++) {
        len += strlen(t.id[i]) + 1;
        oldest = i;
    }
    len = 0;
    for (int i = oldest; i >= parent; i--) {
        size_t k = strlen(t.id[i]);
        if (len)
            out->references[len++] = ' ';
        memcpy(out->references + len, t.id[i], k + 1);
        len += k;
    }
    return 0;
}

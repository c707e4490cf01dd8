/*
 * channel_sendgrid_int.h: the SendGrid adapter's parsers of untrusted input,
 * shared by channel_sendgrid.c (signed Event Webhook, Mail Send),
 * channel_sendgrid_inbound.c (Inbound Parse: multipart/form-data and the
 * mail inside it, parsed with GMime), the unit tests and the fuzzers. Not
 * part of the channel contract. Everything returned lives in the caller's
 * arena.
 */
#ifndef SB_CHANNEL_SENDGRID_INT_H
#define SB_CHANNEL_SENDGRID_INT_H

#include <stddef.h>

#include "channel/channel.h"

/* Bounds on an Inbound Parse request: parts, and the header block of one part. */
#define CHANNEL_MULTIPART_MAX_PARTS 256
#define CHANNEL_MULTIPART_MAX_HEADER 8192

/* One part of a multipart/form-data body. data points into the body
 * (not NUL-terminated: use len); the other strings are in the arena. */
struct channel_part {
    const char *name;          /* Content-Disposition name, "" when absent */
    const char *filename;      /* Content-Disposition filename, or NULL for a plain field */
    const char *content_type;  /* the part's Content-Type, or NULL */
    const char *data;
    size_t len;
};

/* The boundary parameter of a multipart/form-data Content-Type (quoted or
 * not, 1 to 70 characters as RFC 2046 allows), in a; NULL when content_type
 * is not multipart/form-data or has no usable boundary. */
const char *channel_multipart_boundary(struct arena *a, const char *content_type);

/* Split body (len bytes) on boundary into parts: preamble and epilogue are
 * ignored, line ends may be CRLF or bare LF, at most
 * CHANNEL_MULTIPART_MAX_PARTS parts with header blocks of at most
 * CHANNEL_MULTIPART_MAX_HEADER bytes. ERR_INVALID (slug invalid_payload)
 * when there is no closing delimiter, a part is malformed or a bound is
 * exceeded; *out and *nout are then empty. */
int channel_multipart_parse(struct arena *a, const char *boundary, const char *body, size_t len,
                            struct channel_part **out, size_t *nout, struct err *e);

/* The value of a plain field (not a file), NUL-terminated in a, or NULL. */
const char *channel_multipart_field(struct arena *a, const struct channel_part *parts, size_t n, const char *name);

/* A SendGrid Event Webhook body (a JSON array of events) into status
 * events: one per array element, kept in order; event id = sg_event_id,
 * provider message id = sg_message_id up to its first '.' (the X-Message-Id
 * the send returned), to = the recipient (email), status / error as
 * channel_sendgrid.c documents. ERR_INVALID (invalid_json /
 * invalid_payload) for anything else; then out is empty. */
int channel_sendgrid_events(struct arena *a, const char *body, size_t len, struct channel_events *out, struct err *e);

/* An Inbound Parse request (multipart/form-data, the parsed fields or
 * "Send Raw"'s full message in the field "email") into one message event:
 * from = the sender's address, contact_name = its display name, to = our
 * address (the first recipient, or the envelope's), subject, text, html,
 * rfc_message_id, in_reply_to, references, attachments as media metadata
 * (filename as id, content type). event id = the Message-ID (NULL when the
 * mail has none: the pipeline then hashes the event). ERR_INVALID
 * (invalid_payload) for a malformed body or a mail without a sender. */
int channel_sendgrid_inbound(struct arena *a, const char *content_type, const char *body, size_t len,
                             struct channel_events *out, struct err *e);

#endif

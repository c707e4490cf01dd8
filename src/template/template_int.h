/*
 * template internals shared by the files of src/template/ (never included
 * elsewhere): the checks of template_check.c.
 */
#ifndef SB_TEMPLATE_INT_H
#define SB_TEMPLATE_INT_H

#include "template/template.h"

/* 1 for sms | whatsapp | email | telegram | instagram | webchat. */
int template__channel_valid(const char *channel);
/* Channel, name, language, category (and WhatsApp's account) of a new
 * template. ERR_INVALID "invalid_template". */
int template__check_identity(const struct template_input *in, struct err *e);
/* v's content against its channel; on success v->variables is replaced by
 * the derived list (malloc'd JSON array). ERR_INVALID. */
int template__check_content(const char *channel, struct store_template_version *v, struct err *e);
/* A rejection's reason: required, bounded. ERR_INVALID. */
int template__check_reason(const char *reason, struct err *e);

#endif

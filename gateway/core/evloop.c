/* evloop.c: the event base every loop in scepgw (and its bench tools) runs on. */
#include <event2/event.h>

#include "evloop.h"

struct event_base *
evloop_new(void)
{
	struct event_config *ec = event_config_new();
	struct event_base *b = NULL;

	if (ec == NULL)
		return NULL;
	if (event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST) == 0)
		b = event_base_new_with_config(ec);
	event_config_free(ec);
	return b;
}

/* evloop.h: the event base every loop in scepgw (and its bench tools) runs on. */
#ifndef SGW_EVLOOP_H
#define SGW_EVLOOP_H

struct event_base;

/* A new event base whose epoll backend batches its changes: evhttp turns
 * reading and writing off and on around every request, and the changelist
 * folds what cancels out within one loop iteration into no system call
 * (2 epoll_ctl per keep-alive GetCACaps instead of 4).  libevent's caveat for
 * the changelist is a descriptor registered twice through dup(); nothing
 * registered with these loops is dup()ed.  NULL when out of memory. */
struct event_base *evloop_new(void);

#endif

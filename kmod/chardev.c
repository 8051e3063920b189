// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/dmadirty: the agent's control device.  The protocol is described in
 * dmadirty_uapi.h: HELLO first, then ack/status/host ioctls, ack writes,
 * and reads/poll for host state changes.  One opener at a time.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/kobject.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "dmadirty.h"

struct dmadirty_file {
	struct mutex lock;	/* serializes calls on one open file */
	u32 version;		/* agreed API version, 0 before HELLO */
	u32 seen;		/* bridge event count at open or the last read */
};

static atomic_t dmadirty_chardev_busy = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(dmadirty_chardev_wq);
static struct miscdevice dmadirty_misc;
/* Set once the device exists: the bridge can see a block before that. */
static bool dmadirty_chardev_registered;

static bool dmadirty_file_pending(struct dmadirty_file *f)
{
	return f->seen != dmadirty_bridge_events();
}

static int dmadirty_open(struct inode *inode, struct file *file)
{
	struct dmadirty_file *f;

	if (atomic_cmpxchg(&dmadirty_chardev_busy, 0, 1))
		return -EBUSY;
	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f) {
		atomic_set(&dmadirty_chardev_busy, 0);
		return -ENOMEM;
	}
	mutex_init(&f->lock);
	file->private_data = f;
	/*
	 * The state at open is what DMADIRTY_IOC_HOST returns; read() and
	 * poll() report changes after it.
	 */
	dmadirty_bridge_poll_start();
	f->seen = dmadirty_bridge_events();
	return nonseekable_open(inode, file);
}

static int dmadirty_release(struct inode *inode, struct file *file)
{
	struct dmadirty_file *f = file->private_data;

	dmadirty_bridge_poll_stop();
	dmadirty_bridge_agent_gone();
	kfree(f);
	atomic_set(&dmadirty_chardev_busy, 0);
	return 0;
}

static ssize_t dmadirty_read(struct file *file, char __user *buf, size_t count,
			     loff_t *ppos)
{
	struct dmadirty_file *f = file->private_data;
	struct dmadirty_host host;
	u32 events;
	int ret;

	mutex_lock(&f->lock);
	if (!f->version) {
		ret = -EPROTO;
		goto out_unlock;
	}
	if (count != sizeof(host)) {
		ret = -EINVAL;
		goto out_unlock;
	}
	while (!dmadirty_file_pending(f)) {
		if (file->f_flags & O_NONBLOCK) {
			ret = -EAGAIN;
			goto out_unlock;
		}
		mutex_unlock(&f->lock);
		ret = wait_event_interruptible(dmadirty_chardev_wq,
					       dmadirty_file_pending(f));
		if (ret)
			return ret;
		mutex_lock(&f->lock);
	}
	events = dmadirty_bridge_events();
	dmadirty_bridge_host(&host);
	if (copy_to_user(buf, &host, sizeof(host))) {
		ret = -EFAULT;
		goto out_unlock;
	}
	f->seen = events;
	ret = sizeof(host);
out_unlock:
	mutex_unlock(&f->lock);
	return ret;
}

static __poll_t dmadirty_poll(struct file *file, poll_table *wait)
{
	struct dmadirty_file *f = file->private_data;
	__poll_t mask = 0;

	poll_wait(file, &dmadirty_chardev_wq, wait);
	if (READ_ONCE(f->version)) {
		mask |= EPOLLOUT | EPOLLWRNORM;
		if (dmadirty_file_pending(f))
			mask |= EPOLLIN | EPOLLRDNORM;
	}
	return mask;
}

static int dmadirty_do_ack(struct dmadirty_ack *ack)
{
	u32 flags = 0;

	if (dmadirty_bridge_ack(ack->generation, ack->state))
		flags |= DMADIRTY_ACK_BRIDGE;
	ack->flags = flags;
	ack->reserved = 0;
	return 0;
}

static ssize_t dmadirty_write(struct file *file, const char __user *buf,
			      size_t count, loff_t *ppos)
{
	struct dmadirty_file *f = file->private_data;
	struct dmadirty_ack ack;
	ssize_t ret;

	mutex_lock(&f->lock);
	if (!f->version) {
		ret = -EPROTO;
		goto out_unlock;
	}
	if (count != sizeof(ack)) {
		ret = -EINVAL;
		goto out_unlock;
	}
	if (copy_from_user(&ack, buf, sizeof(ack))) {
		ret = -EFAULT;
		goto out_unlock;
	}
	dmadirty_do_ack(&ack);
	ret = count;
out_unlock:
	mutex_unlock(&f->lock);
	return ret;
}

static void dmadirty_fill_status(struct dmadirty_status *st)
{
	int i;

	memset(st, 0, sizeof(*st));
	st->enabled = dmadirty_enabled();
	st->source = dmadirty_source();
	dmadirty_bridge_host(&st->host);
	dmadirty_bridge_guest(&st->acked_sequence, &st->guest_state);
	st->guest_features = dmadirty_guest_features();
	for (i = 0; i < DMADIRTY_NR_COUNTERS_USED; i++)
		st->counters[i] = dmadirty_counter_read(i);
}

static long dmadirty_ioctl_locked(struct dmadirty_file *f, unsigned int cmd,
				  void __user *arg)
{
	union {
		struct dmadirty_hello hello;
		struct dmadirty_ack ack;
		struct dmadirty_status status;
		struct dmadirty_host host;
	} u;

	switch (cmd) {
	case DMADIRTY_IOC_HELLO:
		if (copy_from_user(&u.hello, arg, sizeof(u.hello)))
			return -EFAULT;
		if (!u.hello.version)
			return -EINVAL;
		f->version = min_t(u32, u.hello.version, DMADIRTY_API_VERSION);
		memset(&u.hello, 0, sizeof(u.hello));
		u.hello.version = f->version;
		u.hello.features = DMADIRTY_FEAT_BRIDGE;
		if (dmadirty_guest_features())
			u.hello.features |= DMADIRTY_FEAT_DIRTYING;
		return copy_to_user(arg, &u.hello, sizeof(u.hello)) ? -EFAULT : 0;
	case DMADIRTY_IOC_ACK:
	case DMADIRTY_IOC_STATUS:
	case DMADIRTY_IOC_HOST:
		break;
	default:
		return -ENOTTY;
	}

	if (!f->version)
		return -EPROTO;

	switch (cmd) {
	case DMADIRTY_IOC_ACK:
		if (copy_from_user(&u.ack, arg, sizeof(u.ack)))
			return -EFAULT;
		dmadirty_do_ack(&u.ack);
		return copy_to_user(arg, &u.ack, sizeof(u.ack)) ? -EFAULT : 0;
	case DMADIRTY_IOC_STATUS:
		dmadirty_fill_status(&u.status);
		return copy_to_user(arg, &u.status, sizeof(u.status)) ? -EFAULT : 0;
	default:
		dmadirty_bridge_host(&u.host);
		return copy_to_user(arg, &u.host, sizeof(u.host)) ? -EFAULT : 0;
	}
}

static long dmadirty_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	struct dmadirty_file *f = file->private_data;
	long ret;

	mutex_lock(&f->lock);
	ret = dmadirty_ioctl_locked(f, cmd, (void __user *)arg);
	mutex_unlock(&f->lock);
	return ret;
}

static const struct file_operations dmadirty_fops = {
	.owner = THIS_MODULE,
	.open = dmadirty_open,
	.release = dmadirty_release,
	.read = dmadirty_read,
	.write = dmadirty_write,
	.poll = dmadirty_poll,
	.unlocked_ioctl = dmadirty_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/* Wake readers and tell user space (udev) about a host state change. */
void dmadirty_chardev_host_changed(const struct dmadirty_host *host)
{
	char state[32], seq[32];
	char *envp[3];

	envp[0] = state;
	envp[1] = seq;
	envp[2] = NULL;
	wake_up_interruptible(&dmadirty_chardev_wq);
	/*
	 * Before the device exists there is no opener to tell: open() reads
	 * the block afresh.  Pairs with the release in _init().
	 */
	if (!smp_load_acquire(&dmadirty_chardev_registered))
		return;
	snprintf(state, sizeof(state), DMADIRTY_UEVENT_HOST_STATE "=%u", host->state);
	snprintf(seq, sizeof(seq), DMADIRTY_UEVENT_HOST_SEQ "=%u", host->sequence);
	kobject_uevent_env(&dmadirty_misc.this_device->kobj, KOBJ_CHANGE, envp);
}

static struct miscdevice dmadirty_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = DMADIRTY_DEVICE_NAME,
	.fops = &dmadirty_fops,
	.mode = 0600,
};

int dmadirty_chardev_init(const struct attribute_group **groups)
{
	int ret;

	dmadirty_misc.groups = groups;
	ret = misc_register(&dmadirty_misc);
	if (ret)
		return ret;
	/* Pairs with the acquire in dmadirty_chardev_host_changed(). */
	smp_store_release(&dmadirty_chardev_registered, true);
	return 0;
}

/* After dmadirty_bridge_exit(): no host change can come in any more. */
void dmadirty_chardev_exit(void)
{
	misc_deregister(&dmadirty_misc);
}

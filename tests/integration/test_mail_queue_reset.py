"""The mail-queue reset used between tests copes with a job a killed worker left 'started' (RQ 3)."""
import time

from tests.support.mail import mail_queue, reset_mail_queue


def test_reset_clears_a_job_left_started_by_a_killed_worker(redis_url):
    queue = mail_queue(redis_url)
    job = queue.enqueue("worker.jobs.mail.requeue_stuck_emails")
    # What a worker SIGKILLed mid-job leaves behind: an execution entry in the started registry.
    queue.connection.zadd(queue.started_job_registry.key, {f"{job.id}:dead-execution": time.time() + 600})
    reset_mail_queue(redis_url)
    assert queue.started_job_registry.get_job_ids(cleanup=False) == []
    assert queue.count == 0

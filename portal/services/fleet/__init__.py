"""Running a fleet of chargers (issue 21): configuration templates applied after each boot and kept in
place (config_templates), the residents' tags on each charger's local list for when the garage is offline
(local_list), the commissioning checklist an installer prints (commissioning), and the jobs that carry
them (worker.jobs.fleet, enqueued through queueing)."""

"""Running a fleet of chargers (issue 21): the waiting list of refused chargers, claiming them to a site,
and taking over a cooperative's chargers, residents and tags from another operator (waiting, onboarding,
takeover); configuration templates applied after each boot and kept in place (config_templates), the
residents' tags on each charger's local list for when the garage is offline (local_list), the
commissioning checklist an installer prints (commissioning), and the jobs that carry them
(worker.jobs.fleet, enqueued through queueing); firmware files rolled out in waves (firmware_files,
firmware_rollouts), diagnostics uploads (diagnostics), and the signed URLs chargers use for both (charger_urls)."""

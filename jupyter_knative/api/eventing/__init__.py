"""Knative Eventing's pure logic: durations, cron schedules, CloudEvents SQL."""

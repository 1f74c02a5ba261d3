#!/bin/sh
# nightly backup of the home folders
tar czf /backup/home-$(date +%F).tgz /home

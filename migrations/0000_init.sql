CREATE TABLE `objects` (
	`key` text PRIMARY KEY NOT NULL,
	`resource` text NOT NULL,
	`namespace` text NOT NULL,
	`name` text NOT NULL,
	`rev` integer NOT NULL,
	`value` text NOT NULL,
	`expires_at` integer
);
--> statement-breakpoint
CREATE INDEX `objects_resource_namespace_name` ON `objects` (`resource`,`namespace`,`name`);--> statement-breakpoint
CREATE TABLE `revisions` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`key` text NOT NULL,
	`resource` text NOT NULL,
	`namespace` text NOT NULL,
	`name` text NOT NULL,
	`type` text NOT NULL,
	`value` text NOT NULL,
	`prev_revision` integer
);
--> statement-breakpoint
CREATE INDEX `revisions_namespace_id` ON `revisions` (`namespace`,`id`);--> statement-breakpoint
CREATE INDEX `revisions_resource_id` ON `revisions` (`resource`,`id`);--> statement-breakpoint
CREATE INDEX `revisions_key_id` ON `revisions` (`key`,`id`);--> statement-breakpoint
CREATE TABLE `store_meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `tokens` (
	`hash` text PRIMARY KEY NOT NULL,
	`user` text NOT NULL,
	`groups` text DEFAULT '[]' NOT NULL,
	`expires_at` integer,
	`created_at` integer NOT NULL
);

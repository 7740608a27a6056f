CREATE TABLE `audit_log` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`ts` integer NOT NULL,
	`request_id` text NOT NULL,
	`user` text NOT NULL,
	`groups` text DEFAULT '[]' NOT NULL,
	`impersonator` text,
	`verb` text NOT NULL,
	`api_group` text,
	`resource` text,
	`subresource` text,
	`namespace` text,
	`name` text,
	`path` text,
	`code` integer NOT NULL,
	`user_agent` text
);
--> statement-breakpoint
CREATE INDEX `audit_log_ts` ON `audit_log` (`ts`);--> statement-breakpoint
CREATE INDEX `audit_log_user_ts` ON `audit_log` (`user`,`ts`);--> statement-breakpoint
CREATE INDEX `audit_log_namespace_ts` ON `audit_log` (`namespace`,`ts`);
CREATE TABLE `allocations` (
	`id` text PRIMARY KEY NOT NULL,
	`owner` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `allocations_owner` ON `allocations` (`owner`);